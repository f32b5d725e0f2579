#!/usr/bin/env python3
"""CI check that simrun regress's JUnit XML is read correctly by a real consumer (junitparser, from PyPI).

Builds a scratch suite over a copy of a shipped topology, accepts its baseline, sets ACS ReqRedir on the NIC's
downstream port, runs `simrun regress --junit`, and checks that junitparser counts the same tests and failures
as the printed table and reads the same failure messages. Usage: check-junit.py SIMRUN REPO_ROOT
"""
import os, re, shutil, subprocess, sys, tempfile
from junitparser import JUnitXml, Failure, Error

simrun, root = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="pciesim-junit-")
try:
    for t in ("nvmeof-switch-acs-off", "xeon-whitelisted"):
        shutil.copy(os.path.join(root, "topologies", t + ".xml"), work)
    with open(os.path.join(work, "suite.xml"), "w") as f:
        f.write('<suite name="junit-check" version="1">\n'
                '  <case name="acs" topology="nvmeof-switch-acs-off.xml" scenario="nvme-to-nic" baseline="b/acs.json">'
                '<option name="size" value="256K"/></case>\n'
                '  <case name="rdma" topology="xeon-whitelisted.xml" scenario="gpudirect-rdma" baseline="b/rdma.json">'
                '<option name="size" value="256K"/></case>\n'
                '  <case name="audit" topology="nvmeof-switch-acs-off.xml" scenario="acs-audit" baseline="b/audit.json"/>\n'
                '</suite>\n')
    suite = os.path.join(work, "suite.xml")
    subprocess.run([simrun, "regress", suite, "--update-baselines"], check=True, stdout=subprocess.DEVNULL)
    path = os.path.join(work, "nvmeof-switch-acs-off.xml")
    text = open(path).read()
    mutated = text.replace('acs-ctrl="none">\n          <endpoint name="nic0"', 'acs-ctrl="RR">\n          <endpoint name="nic0"')
    assert mutated != text, "mutation did not apply"
    open(path, "w").write(mutated)
    junit = os.path.join(work, "junit.xml")
    run = subprocess.run([simrun, "regress", suite, "--junit", junit], capture_output=True, text=True)
    assert run.returncode == 1, f"expected exit 1, got {run.returncode}\n{run.stdout}{run.stderr}"
    table = run.stdout
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^(\S+)\s+(PASS|FAIL|ERROR)\s", table, re.M)}
    printed = {}
    for block in re.finditer(r"^FAIL (\S+)\n((?:  .*\n)+)", table, re.M):
        printed[block.group(1)] = [l[2:] for l in block.group(2).splitlines()]
    xml = JUnitXml.fromfile(junit)
    cases = [c for s in xml for c in s]
    assert xml.tests == len(rows) == len(cases) == 3, (xml.tests, rows)
    failed = {c.name: r for c in cases for r in c.result if isinstance(r, Failure)}
    errors = [c.name for c in cases for r in c.result if isinstance(r, Error)]
    expected = {"acs", "audit"}   # the ReqRedir bit moves the NIC's P2P verdicts in both cases
    assert xml.failures == sum(v == "FAIL" for v in rows.values()) == len(failed) == len(expected), (xml.failures, rows, failed)
    assert not errors and xml.errors == 0
    assert set(failed) == {n for n, v in rows.items() if v == "FAIL"} == expected
    for name, r in sorted(failed.items()):
        assert r.message == printed[name][0], (name, r.message, printed[name])
        assert r.text.splitlines() == printed[name], (name, r.text, printed[name])
        assert "ACS ReqRedir now set on 0000:02:00.0" in r.message, r.message
    r = failed["acs"]
    print(f"junitparser {xml.tests} tests, {xml.failures} failures, {xml.errors} errors: match the table; message: {r.message}")
finally:
    shutil.rmtree(work, ignore_errors=True)
