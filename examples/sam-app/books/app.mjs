// GET /books and GET /health: a Node.js ESM handler, as `sam init` writes one for nodejs20.x.
const BOOKS = [
  { isbn: '9780262046305', title: 'Algorithms for Decision Making' },
  { isbn: '9781492056355', title: 'Fluent Python' },
];

export const lambdaHandler = async (event, context) => {
  if (event.resource === '/health') {
    return { statusCode: 200, body: JSON.stringify({ ok: true, store: process.env.STORE_NAME }) };
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ books: BOOKS, reader: event.requestContext.authorizer?.principalId, function: context.functionName }),
  };
};
