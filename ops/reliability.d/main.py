"""Runs the scenarios ops/reliability names and prints the table; exit 1 on any failure."""
import importlib
import sys
import time
import traceback

from harness import Result, Stack

SCENARIOS = {
    "matrix": "matrix",
    "hostile": "hostile",
    "kill9": "kill9",
    "outage": "outage",
    "noisy": "noisy",
    "fuzz": "fuzz",
    "once": "once",
}
QUICK = ["matrix", "hostile"]
ALL = ["matrix", "hostile", "kill9", "outage", "noisy", "fuzz", "once"]


def main(argv):
    names = [a for a in argv if not a.startswith("-")]
    if "--quick" in argv:
        names = names or QUICK
    names = names or ALL
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print("unknown scenario(s): %s (one of %s)" % (", ".join(unknown), ", ".join(ALL)), file=sys.stderr)
        return 2
    stack = Stack()
    results = []
    try:
        for name in names:
            started = time.time()
            print("==> %s" % name, file=sys.stderr, flush=True)
            try:
                module = importlib.import_module(SCENARIOS[name])
                results += module.run(stack)
            except Exception as e:  # noqa: BLE001 - a broken scenario is a failed row
                traceback.print_exc()
                results.append(Result(name, "-", "the scenario ran to the end", False, "error: %s" % e))
            print("    %s done in %.0f s" % (name, time.time() - started), file=sys.stderr, flush=True)
    finally:
        stack.stop_server()
    print()
    print("| scenario | load | checked | result | figures |")
    print("|---|---|---|---|---|")
    for r in results:
        print("| %s | %s | %s | %s | %s |" % (r.scenario, r.load, r.checked, "pass" if r.ok else "FAIL", r.figures.replace("|", "/")))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
