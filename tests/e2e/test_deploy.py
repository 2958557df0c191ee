"""The deploy kit stays true to the code: the JSON Schema accepts the
bundled configs and refuses what check-config refuses, the Grafana dashboard
and alerts use only metrics the code registers, the README catalogue lists
every one, the Kubernetes config is valid, and the systemd unit verifies."""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SYSTEM_PYTHON = "/usr/bin/python3"  # has Debian's python3-jsonschema and python3-yaml

VALIDATE = r"""
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    errors = sorted(v.iter_errors(yaml.safe_load(open(path))), key=lambda e: list(e.path))
    print(json.dumps({"file": path, "errors": [e.message for e in errors]}))
"""


def registered_metrics():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "*/**/*.cc"), recursive=True):
        if "/build" in path or "/tests/" in path:
            continue
        names.update(re.findall(r'\.Name\("(switchyard_[a-z_]+)"\)', open(path).read()))
    return names


def base_metric(name):
    return re.sub(r"_(bucket|count|sum)$", "", name)


class DeployKitTest(unittest.TestCase):
    def schema_errors(self, *configs):
        out = subprocess.run([SYSTEM_PYTHON, "-c", VALIDATE, os.path.join(ROOT, "deploy/switchyard.schema.json"),
                              *configs], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return {json.loads(line)["file"]: json.loads(line)["errors"] for line in out.stdout.splitlines()}

    def k8s_config(self, directory):
        import_yaml = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import sys, yaml; docs = list(yaml.safe_load_all(open(sys.argv[1])));"
             "print(next(d for d in docs if d['kind'] == 'ConfigMap')['data']['switchyard.yaml'])",
             os.path.join(ROOT, "deploy/kubernetes/switchyard.yaml")], capture_output=True, text=True, check=True)
        path = os.path.join(directory, "k8s.yaml")
        with open(path, "w") as f:  # the admin token comes from a mounted Secret there
            f.write(import_yaml.stdout.replace("${file:/etc/switchyard-admin/token}", "a-long-enough-admin-token"))
        return path

    def test_schema_accepts_the_bundled_configs_and_refuses_bad_ones(self):
        with tempfile.TemporaryDirectory() as d:
            k8s = self.k8s_config(d)
            bad = os.path.join(d, "bad.yaml")
            with open(bad, "w") as f:
                f.write("server: {log_level: loud}\nrules: [{name: r, event_pattern: {}, colour: red}]\n")
            errors = self.schema_errors(os.path.join(ROOT, "deploy/examples/switchyard.yaml"), k8s, bad)
            self.assertEqual(errors[os.path.join(ROOT, "deploy/examples/switchyard.yaml")], [])
            self.assertEqual(errors[k8s], [])
            self.assertEqual(len(errors[bad]), 2, errors[bad])
            for path in (k8s, os.path.join(ROOT, "deploy/examples/switchyard.yaml")):
                p = subprocess.run([BIN, "check-config", "--config", path], capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            p = subprocess.run([BIN, "check-config", "--config", bad], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)

    def test_the_cluster_configs_are_valid(self):
        """The cluster kit: the Kubernetes ConfigMap and the node template
        run-local.sh fills in pass the schema and check-config."""
        p = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import sys, yaml; docs = list(yaml.safe_load_all(open(sys.argv[1])));"
             "print(next(d for d in docs if d['metadata']['name'] == 'switchyard-cluster-config')"
             "['data']['switchyard.yaml'])",
             os.path.join(ROOT, "deploy/kubernetes/cluster.yaml")], capture_output=True, text=True, check=True)
        with tempfile.TemporaryDirectory() as d:
            k8s = os.path.join(d, "k8s-cluster.yaml")
            with open(k8s, "w") as f:
                f.write(p.stdout.replace("${file:/etc/switchyard-admin/token}", "a-long-enough-admin-token"))
            node = os.path.join(d, "node.yaml")
            with open(os.path.join(ROOT, "deploy/cluster/switchyard-node.yaml")) as f:
                text = f.read()
            with open(node, "w") as f:
                f.write(text.replace("NODE_ID", "node0").replace("INGEST_PORT", "8080").replace("ADMIN_PORT", "8081"))
            errors = self.schema_errors(k8s, node)
            self.assertEqual(errors, {k8s: [], node: []})
            for path in (k8s, node):
                c = subprocess.run([BIN, "check-config", "--config", path], capture_output=True, text=True,
                                   env=dict(os.environ, POD_NAME="switchyard-cluster-0"))
                self.assertEqual(c.returncode, 0, c.stdout + c.stderr)

    def test_dashboard_and_alerts_use_only_real_metrics(self):
        registered = registered_metrics()
        self.assertGreater(len(registered), 20)
        dashboard = json.load(open(os.path.join(ROOT, "deploy/grafana/switchyard-dashboard.json")))
        used = set()
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                used.update(base_metric(m) for m in re.findall(r"switchyard_[a-z_]+", target["expr"]))
        alerts = open(os.path.join(ROOT, "deploy/prometheus/switchyard-alerts.yml")).read()
        used.update(base_metric(m) for m in re.findall(r"expr: .*", alerts) for m in re.findall(r"switchyard_[a-z_]+", m))
        self.assertEqual(used - registered, set())
        self.assertGreaterEqual(len(used), 20, "the dashboard should cover the catalogue")

    def test_readme_catalogue_lists_every_metric(self):
        readme = open(os.path.join(ROOT, "README.md")).read()
        listed = set(re.findall(r"^\| `(switchyard_[a-z_]+)` \|", readme, re.M))
        self.assertEqual(registered_metrics() - listed, set(), "metrics missing from the README catalogue")
        self.assertEqual(listed - registered_metrics(), set(), "README lists metrics the code does not have")

    def test_kubernetes_probes_and_volume(self):
        text = open(os.path.join(ROOT, "deploy/kubernetes/switchyard.yaml")).read()
        for needle in ("kind: StatefulSet", "path: /readyz", "path: /healthz", "volumeClaimTemplates", "kind: ConfigMap",
                       "runAsNonRoot: true"):
            self.assertIn(needle, text)
        # Issue 12.24: the governing Service is headless, and nothing asks for
        # a token-less scrape of the token-protected /metrics.
        p = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import sys, yaml, json; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
             os.path.join(ROOT, "deploy/kubernetes/switchyard.yaml")], capture_output=True, text=True, check=True)
        docs = json.loads(p.stdout)
        sts = next(d for d in docs if d["kind"] == "StatefulSet")
        governing = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == sts["spec"]["serviceName"])
        self.assertEqual(governing["spec"].get("clusterIP"), "None")
        for d in docs:
            self.assertNotIn("prometheus.io/scrape", d["metadata"].get("annotations", {}), d["metadata"]["name"])

    def test_licence_and_the_readme_aws_cli_example(self):
        """Issue 12.25: an Apache-2.0 LICENSE, said in the README, whose AWS
        CLI example gives the dummy credentials the CLI needs."""
        with open(os.path.join(ROOT, "LICENSE")) as f:
            licence = f.read()
        self.assertIn("Apache License", licence)
        self.assertIn("Version 2.0, January 2004", licence)
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        self.assertIn("Apache License 2.0", readme)
        example = readme[readme.index("aws events put-events") - 200:readme.index("aws events put-events")]
        self.assertIn("AWS_ACCESS_KEY_ID=", example)
        self.assertIn("AWS_SECRET_ACCESS_KEY=", example)

    def test_promtool_checks_the_scrape_config_and_alerts(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian's prometheus) is installed by deploy/install-deps.sh")
        with tempfile.TemporaryDirectory() as d:
            # As the README says: the token file the scrape config names exists.
            config = open(os.path.join(ROOT, "deploy/prometheus/prometheus.yml")).read()
            token = os.path.join(d, "switchyard-admin-token")
            with open(token, "w") as f:
                f.write("a-long-enough-admin-token\n")
            self.assertIn("/etc/prometheus/switchyard-admin-token", config)
            shutil.copy(os.path.join(ROOT, "deploy/prometheus/switchyard-alerts.yml"), d)
            path = os.path.join(d, "prometheus.yml")
            with open(path, "w") as f:
                f.write(config.replace("/etc/prometheus/switchyard-admin-token", token))
            p = subprocess.run([promtool, "check", "config", path], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            p = subprocess.run([promtool, "check", "rules", os.path.join(ROOT, "deploy/prometheus/switchyard-alerts.yml")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_check_config_as_the_services_unprivileged_user_on_the_file_as_installed(self):
        """Issue 12.20: the unit's install line gives a mode the service's
        dynamic (unprivileged) user can read, so ExecStartPre passes."""
        unit = open(os.path.join(ROOT, "deploy/systemd/switchyard.service")).read()
        mode = re.search(r"install -m (0[0-7]+) deploy/examples/switchyard\.yaml /etc/switchyard/", unit)
        self.assertIsNotNone(mode, "the unit says how to install the config")
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o755)
            binary = os.path.join(d, "switchyard")
            shutil.copy(BIN, binary)
            os.chmod(binary, 0o755)
            config = os.path.join(d, "switchyard.yaml")
            shutil.copy(os.path.join(ROOT, "deploy/examples/switchyard.yaml"), config)
            os.chown(config, 0, 0)
            os.chmod(config, int(mode.group(1), 8))

            def nobody():
                os.setgid(65534)
                os.setuid(65534)

            p = subprocess.run([binary, "check-config", "--config", config], capture_output=True, text=True,
                               preexec_fn=nobody, cwd=d, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_systemd_unit_verifies(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed")
        with tempfile.TemporaryDirectory() as d:
            unit = open(os.path.join(ROOT, "deploy/systemd/switchyard.service")).read()
            path = os.path.join(d, "switchyard.service")
            with open(path, "w") as f:
                f.write(unit.replace("/usr/local/bin/switchyard", os.path.abspath(BIN)))
            p = subprocess.run([analyze, "verify", path], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            p = subprocess.run([analyze, "security", "--offline=yes", path], capture_output=True, text=True, timeout=60)
            level = re.search(r"Overall exposure level for .*: ([0-9.]+)", p.stdout)
            self.assertIsNotNone(level, p.stdout + p.stderr)
            self.assertLess(float(level.group(1)), 2.0, p.stdout)


if __name__ == "__main__":
    unittest.main()
