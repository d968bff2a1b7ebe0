"""The request/reply loop of the PyTorch scripts' --serve modes (step.py, infer.py), read by bench/models.ts's
TorchServer: a first line saying torch is available, then one JSON request per stdin line, each answered by one
JSON line on stdout from the handler its "cmd" names; a failing request replies {"error": message}. EOF ends it."""

import json
import sys


def serve(torch, handlers):
    """handlers: cmd -> function(request dict) -> reply dict."""

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"available": True, "torch_version": torch.__version__, "python": sys.executable})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req["cmd"]
            if cmd not in handlers:
                reply({"error": f"bad cmd '{cmd}'; allowed: {', '.join(handlers)}"})
                continue
            reply(handlers[cmd](req))
        except Exception as e:  # noqa: BLE001
            reply({"error": f"{type(e).__name__}: {e}"})
    return 0
