#!/usr/bin/env bash
# The commands of contrib/kubernetes/, run for real without a cluster: every pod of the Indexed Job
# (sweep-indexed-job.yaml) is its container's `sh -c` command with JOB_COMPLETION_INDEX=i and the container's env,
# then the merge Job's command; the merged files must be byte-identical to a local run. What differs from a cluster:
# the pods run one after another here, and the plan ConfigMap and the shared volume are folders (their mount paths
# in the commands are mapped to them). docs/SWEEPS.md ("On a cluster").
#
#   scripts/kubernetes-check.sh [SIMRUN] [PLAN]      (defaults: .build/debug/simrun, plans/gpu8-uplinks-nics-acs.xml)
# SWEEP_OPTIONS, when set, replaces the manifest's (CI: --mode flow, to keep a debug build quick).
# Needs python3 with PyYAML (Debian python3-yaml) to read the manifests.
set -euo pipefail
cd "$(dirname "$0")/.."
simrun=$(realpath "${1:-.build/debug/simrun}")
plan=$(realpath "${2:-plans/gpu8-uplinks-nics-acs.xml}")
work=$(mktemp -d "${TMPDIR:-/tmp}/pciesim-k8s.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/plan" "$work/sweeps"
ln -s "$simrun" "$work/bin/simrun"
cp "$plan" "$work/plan/plan.xml"

# One line per pod: index, then NAME=VALUE env pairs and the command, NUL-free (python prints them shell-quoted).
python3 - "$work" > "$work/pods.sh" <<'PY'
import os, re, shlex, sys, yaml
work = sys.argv[1]
def job(path, name):
    docs = [d for d in yaml.safe_load_all(open(path)) if d and d.get("kind") == "Job"]
    assert len(docs) == 1, f"{path}: expected one Job"
    return docs[0]
def command(c):
    cmd = c["command"] + c.get("args", [])
    assert cmd[:2] == ["/bin/sh", "-c"] and len(cmd) == 3, "the container must run /bin/sh -c COMMAND"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    text = cmd[2]
    for name, where in (("plan", f"{work}/plan"), ("sweeps", f"{work}/sweeps")):
        # the mount path where it starts a path (not "/plan" inside "/plan/plan.xml")
        text = re.sub(r'(?<![\w/.-])' + re.escape(mounts[name]) + r'(?=/|\s|"|$)', where, text)
    return text
shard = job("contrib/kubernetes/sweep-indexed-job.yaml", "pciesim-sweep")
spec = shard["spec"]
assert spec["completionMode"] == "Indexed"
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c.get("env", [])}
if os.environ.get("SWEEP_OPTIONS"): env["SWEEP_OPTIONS"] = os.environ["SWEEP_OPTIONS"]
print(f"# SWEEP_OPTIONS={env.get('SWEEP_OPTIONS', '')}")
assert int(env["SHARDS"]) == spec["completions"], "SHARDS must equal completions"
for i in range(spec["completions"]):
    pairs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    print(f"env -i PATH={shlex.quote(work + '/bin')}:/usr/bin:/bin JOB_COMPLETION_INDEX={i} {pairs} /bin/sh -c {shlex.quote(command(c))}")
merge = job("contrib/kubernetes/sweep-merge-job.yaml", "pciesim-sweep-merge")
c = merge["spec"]["template"]["spec"]["containers"][0]
print(f"env -i PATH={shlex.quote(work + '/bin')}:/usr/bin:/bin /bin/sh -c {shlex.quote(command(c))}")
PY
pods=$(( $(grep -c JOB_COMPLETION_INDEX= "$work/pods.sh") ))
bash -e "$work/pods.sh" > "$work/pods.log" 2>&1 || { echo "kubernetes-check: error: a pod's command failed" >&2; tail -n 20 "$work/pods.log" >&2; exit 1; }
read -r -a options <<< "$(sed -n 's/^# SWEEP_OPTIONS=//p' "$work/pods.sh")"
"$simrun" sweep run "$plan" "${options[@]}" --out "$work/local" > /dev/null 2>&1
for f in results.csv results.json summary.md sweep.html; do
  cmp "$work/sweeps/pciesim-sweep/merged/$f" "$work/local/$f" \
    || { echo "kubernetes-check: error: merged $f differs from the local run's" >&2; exit 1; }
done
echo "kubernetes-check: $pods Indexed Job pods and the merge Job, run as their commands: byte-identical to the local run"
