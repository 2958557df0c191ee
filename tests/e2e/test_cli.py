"""The command line (issue 12.21): one parser for every command. Unknown
options and typos are refused with the command's usage line and exit 2,
every command has --help, --version names the git commit, and the admin
client takes --opt=value."""

import os
import re
import subprocess
import unittest

from harness import BIN, Service

COMMANDS = [["serve"], ["check-config"], ["test-pattern"], ["match"], ["transform"], ["admin"], ["admin", "rules"],
            ["admin", "dlq"], ["admin", "replay"], ["admin", "replay", "start"]]


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, env=env)


class CommandLineTest(unittest.TestCase):
    def test_typos_and_unknown_options_are_refused_with_the_usage_line(self):
        for args, usage in ((["serve", "--config", "f.yaml", "--port", "9", "--dta-dir", "./x"], "switchyard serve"),
                            (["check-config", "--config", "f.yaml", "--strict", "yes"], "switchyard check-config"),
                            (["match", "--patterns", "p", "--events", "e", "--repeat", "0"], "switchyard match"),
                            (["admin", "dlq", "rx", "--limit", "ten"], "switchyard admin dlq"),
                            (["frobnicate"], "switchyard")):
            p = run(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn("Usage: " + usage, p.stderr, args)
            self.assertEqual(p.stdout, "", args)

    def test_every_command_has_help(self):
        for args in COMMANDS:
            p = run(*args, "--help")
            self.assertEqual(p.returncode, 0, (args, p.stderr))
            self.assertIn("Usage:", p.stdout, args)
            self.assertIn("--help", p.stdout, args)

    def test_version_names_the_commit(self):
        p = run("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^switchyard \d+\.\d+\.\d+ \(.+\)\n$")
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
        if head.returncode == 0:
            self.assertIn(head.stdout.strip(), p.stdout)

    def test_admin_takes_option_equals_value_before_or_after_the_command(self):
        service = Service("server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}\n").start()
        try:
            url = "http://" + service.admin
            for args in (["admin", "--url=" + url, "rules"], ["admin", "rules", "--url", url, "--json"]):
                p = run(*args)
                self.assertEqual(p.returncode, 0, (args, p.stderr))
        finally:
            service.cleanup()


if __name__ == "__main__":
    unittest.main()
