"""POST /books/{isbn}/reviews: a Python handler (standard library only)."""
import json


def lambda_handler(event, context):
    isbn = event["pathParameters"]["isbn"]
    try:
        review = json.loads(event.get("body") or "{}")
    except json.JSONDecodeError:
        return {"statusCode": 400, "body": json.dumps({"message": "the body must be JSON"})}
    stars = review.get("stars")
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        return {"statusCode": 400, "body": json.dumps({"message": "stars must be 1 to 5"})}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"isbn": isbn, "stars": stars, "reader": event["requestContext"]["authorizer"]["principalId"], "function": context.function_name}),
    }
