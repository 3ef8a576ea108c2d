"""Turnpike's Lambda runtime client for Python: the standard library only, no pip install.

Started by the gateway as `python3 -u bootstrap.py` in the function's code folder, with Lambda's
environment (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, ...). It does what Lambda's Python
runtime does (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

  import the handler module once (an init failure goes to /runtime/init/error, named as Lambda names it:
  Runtime.MalformedHandlerName, Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound),
  then loop: GET /invocation/next -> handler(event, context) -> POST /response (the result as JSON)
  or POST /error ({errorMessage, errorType, requestId, stackTrace}).

print() and the logging module write to stdout; the gateway turns each line into a log record of the
invocation it gave this process. Logging records use Lambda's Python text format
`[LEVEL]\\t<time>Z\\t<request id>\\t<message>` so the gateway reads their level.
"""

import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback

API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
HANDLER = os.environ.get("_HANDLER", "")
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024

# No __pycache__ folders written into the function's code (Lambda's /var/task is read-only: none are
# written there either); existing .pyc files, e.g. of installed packages, are still used.
sys.dont_write_bytecode = True

# The module search path Lambda gives a function: its code folder first (never this client's folder),
# then PYTHONPATH (the layers' python folders), then the interpreter's own.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = TASK_ROOT
else:
    sys.path.insert(0, TASK_ROOT)

host, _, port = API.rpartition(":")
# One kept-alive connection to the Runtime API, as the Node bootstrap keeps one: a warm call costs no connect.
conn = http.client.HTTPConnection(host or "127.0.0.1", int(port or "0"))
current_request_id = None


def lost(err):
    """The gateway went away (or refused us): a function process never outlives its Runtime API."""
    sys.stderr.write("bootstrap.py: Runtime API at %s failed: %s\n" % (API, err))
    sys.stderr.flush()
    os._exit(1)


def call(method, path, body=None, headers=None):
    global conn
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    for attempt in (0, 1):
        try:
            conn.request(method, PREFIX + path, body=data, headers=hdrs)
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        except (http.client.HTTPException, OSError) as e:
            # A kept-alive connection the server closed: reconnect once, then give up.
            conn.close()
            conn = http.client.HTTPConnection(host or "127.0.0.1", int(port or "0"))
            if attempt == 1:
                lost(e)
    return None


def to_json_default(obj):
    # As Lambda's Python runtime: Decimal (what boto3's DynamoDB reads give) becomes a number.
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


def error_doc(error_type, message, stack, request_id=None):
    doc = {"errorMessage": message, "errorType": error_type, "stackTrace": stack}
    if request_id is not None:
        doc["requestId"] = request_id
    return doc


def exception_doc(exc, request_id=None):
    """Lambda's Python formatting of an exception: its class name, str(), and the traceback frames as lines."""
    tb = traceback.extract_tb(exc.__traceback__)
    return error_doc(type(exc).__name__, str(exc), traceback.format_list(tb), request_id)


def post_error(path, doc):
    body = json.dumps(doc)
    call("POST", path, body, {"Lambda-Runtime-Function-Error-Type": doc["errorType"]})


def init_error(doc):
    post_error("/init/error", doc)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


class LambdaContext(object):
    """The context object Lambda's Python runtime passes (the fields handlers read)."""

    def __init__(self, request_id, deadline_ms, arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


class LambdaLogHandler(logging.Handler):
    """The root logger's handler, as Lambda installs it: one line per record, newlines kept inside it as \\r."""

    def emit(self, record):
        try:
            message = self.format(record)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + ".%03dZ" % int(record.msecs)
            line = "[%s]\t%s\t%s\t%s\n" % (record.levelname, stamp, current_request_id or "", message.replace("\n", "\r"))
            sys.stdout.write(line)
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def setup_logging():
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = LambdaLogHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    # Lambda's default: WARNING for the root logger (AWS_LAMBDA_LOG_LEVEL would change it).
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    root.setLevel(getattr(logging, level, logging.WARNING) if level else logging.WARNING)


def load_handler():
    try:
        modname, fname = HANDLER.rsplit(".", 1)
    except ValueError as e:
        init_error(error_doc("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (HANDLER, e), []))
    modname = modname.replace("/", ".")
    try:
        module = importlib.import_module(modname)
    except ImportError as e:
        init_error(error_doc("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e), []))
    except SyntaxError as e:
        init_error(error_doc("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), traceback.format_list(traceback.extract_tb(e.__traceback__))))
    except Exception as e:
        # The module raised while it was imported: Lambda reports the exception itself.
        init_error(exception_doc(e))
    fn = getattr(module, fname, None)
    if fn is None or not callable(fn):
        init_error(error_doc("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname), []))
    return fn


def invoke(handler, headers, body):
    global current_request_id
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
    current_request_id = request_id
    deadline = int(headers.get("Lambda-Runtime-Deadline-Ms", "0") or "0") or int(time.time() * 1000) + 3000
    arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
    trace = headers.get("Lambda-Runtime-Trace-Id")
    if trace:
        os.environ["_X_AMZN_TRACE_ID"] = trace
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    base = "/invocation/%s" % request_id
    try:
        event = json.loads(body.decode("utf-8")) if body else None
        result = handler(event, LambdaContext(request_id, deadline, arn))
    except Exception as e:
        sys.stdout.flush()
        post_error(base + "/error", exception_doc(e, request_id))
        return
    try:
        payload = json.dumps(result, default=to_json_default)
    except Exception as e:
        post_error(base + "/error", error_doc("Runtime.MarshalError", "Unable to marshal response: %s" % e, [], request_id))
        return
    data = payload.encode("utf-8")
    if len(data) > MAX_RESPONSE_BYTES:
        post_error(
            base + "/error",
            error_doc(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size (%d bytes)." % MAX_RESPONSE_BYTES,
                [],
                request_id,
            ),
        )
        return
    sys.stdout.flush()
    call("POST", base + "/response", data)


def watch_lifeline():
    # stdin is the gateway's lifeline (never written): it ends when the gateway goes away, and so does this process.
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except Exception:
        pass
    os._exit(0)


def main():
    threading.Thread(target=watch_lifeline, daemon=True).start()
    setup_logging()
    handler = load_handler()
    while True:
        status, headers, body = call("GET", "/invocation/next")
        if status != 200:
            lost("GET next answered %d" % status)
        invoke(handler, headers, body)


if __name__ == "__main__":
    main()
