"""TAP for the Python drivers in test/: checks are collected, then printed
as "1..N" and one "ok"/"not ok" line each (what make test counts), with
what was got after a failure."""


class Tap:
    def __init__(self):
        self.results = []

    def check(self, ok, description, got=None):
        """Records one check; got is shown if it failed."""
        self.results.append((bool(ok), description, got))

    def report(self):
        """Prints the checks; returns the exit status (0 if all passed)."""
        print(f"1..{len(self.results)}")
        for n, (ok, description, got) in enumerate(self.results, 1):
            print(f"{'ok' if ok else 'not ok'} {n} - {description}")
            if not ok:
                print(f"# got: {got!r}")
        return 0 if all(ok for ok, _, _ in self.results) else 1
