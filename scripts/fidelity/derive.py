#!/usr/bin/env python3
"""Recomputes the transport model's data-derived defaults from fidelity/derivation.tsv (docs/FIDELITY.md).

Usage: scripts/fidelity/derive.py [--write] [--simrun PATH]   (from the repository root; PATH defaults to
.build/debug/simrun, needed for the launch-latency rows)
Prints each default with the rows it comes from; without --write, exits 1 when fidelity/derived-defaults.tsv differs
from what the rows give (CI runs it that way), or when a derivation row is missing from fidelity/suite.xml or
publishes another figure there.

link.ackWidthExponent: the model emits one Ack and one UpdateFC DLLP (8 bytes each) every
  I = T / W**alpha, where T is the spec's maximum Ack latency for the link (PCIe Base Tables 3-7..3-9, in symbol times,
  the 8.0 GT/s table reused for 16 and 32 GT/s as in pcie-bench) and W the width. alpha = 0 is the spec's best case
  (the width-scaled accounting), alpha = 1 is pcie-bench's published accounting (reference section 1.7). A posted-write
  stream of MPS-sized TLPs moves payload at
      R_raw * (1 - (16/W) * t_sym / I - 4/1538) * MPS / (MPS + 24)
  so each row's measured rate gives I, hence alpha = log(T/I) / log(W); the default is the mean over the rows.
platform.*.rcP2PRateCap: the measured peer-to-peer rate through the root complex, when it is below every link on the
  path (the script checks that the links would allow more).
platform.*.socketP2PBandwidth: the measured cross-socket P2P rate per direction (a bidirectional figure B gives
  B / (2 * duplexShare): both directions together carry 2 * share * the one-way rate).
fabric.duplexShare: for machines that publish a one-way figure U and a bidirectional figure B through the same shared
  bottleneck (a root complex's P2P forwarding, a socket link), share = B / (2 * U), U being the suite's case with the
  same id but "uni" for "bidir"; the median over the rows. One number for every platform.
iommu.vtd.walkLatency: with 4 walks in flight over 4 levels, 64-byte reads that miss the IOTLB on every access
  run at 4 / (4 * latency) reads per second, so latency = 1 / measured reads per second; the median over the rows.
device.*.readIssueRate, device.*.writeIssueRate: 64-byte DMAs far below the link's rate: the measured DMAs per
  second (one TLP each).
device.*.outstandingReads: 64-byte reads far below the link's rate run at (reads in flight) / (read latency): the
  measured reads per second times the same host's published 64 B read latency (Little's law), rounded.
platform.*.memoryLatency: the published 64 B DMA read latency (pcie-bench LAT_RD) less what the simulator gives for the
  same case with rc.memoryLatency=0 (the links, the device): the time the root complex and memory take.
device.*.launchLatency: the published per-copy latency less what the simulator gives for the same case with no launch
  cost (simrun runs the case's machine with dma.launchLatency=0 on every root complex); the median.
device.*.peerWriteIngress: the measured P2P write rate into a device family's BAR per direction, when it is below its
  link's rate (a bidirectional figure is halved).
"""
import json, math, re, subprocess, sys, os, tempfile, xml.etree.ElementTree as ET

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GT = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0}

def line_code(gen): return 0.8 if gen <= 2 else 128 / 130
def symbol_ns(gen): return (10 if gen <= 2 else 8 + 2 / 16) / GT[gen]   # ns per symbol per lane
def raw_gbps(gen, width): return GT[gen] * width * line_code(gen) / 8

def ack_limit_symbols(gen, width, mps):
    """T from the spec tables' formula (Sources/Sim/Transport/LinkEfficiency+DLLP.swift does the same)."""
    if mps <= 256: tenths = 14 if width <= 4 else 25 if width == 8 else 30
    else: tenths = 10 if width <= 8 else 20
    internal = 19 if gen == 1 else 70 if gen == 2 else 115
    return (mps + 28) * tenths // (10 * width) + internal

def implied_alpha(gen, width, mps, gbps):
    efficiency = gbps / (raw_gbps(gen, width) * mps / (mps + 24))
    share = 1 - 4 / 1538 - efficiency
    if share <= 0: raise SystemExit(f"{gbps} GB/s is above the link's best case at Gen{gen} x{width} MPS {mps}")
    interval = (16 / width) * symbol_ns(gen) / share
    t = ack_limit_symbols(gen, width, mps) * symbol_ns(gen)
    if width == 1: raise SystemExit("an x1 row cannot give alpha")
    return math.log(t / interval) / math.log(width), interval, t

def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

def payload_ceiling(gen, width, mps):
    return raw_gbps(gen, width) * (1 - 16 / width / ack_limit_symbols(gen, width, mps) - 4 / 1538) * mps / (mps + 24)

def model_latency_without(param, case, suite, simrun):
    """The case's p50 latency (ns) from the simulator with `param` forced to 0 on every root complex."""
    machine = next(m for m in suite.iter("machine") if m.get("id") == case.get("machine"))
    topology = os.path.join(ROOT, "fidelity", machine.get("topology"))
    text = open(topology).read()
    text = re.sub(r"(<root-complex\b[^>]*>)", r'\1<param name="' + param + r'" value="0ns"/>', text)
    options = {o.get("name"): o.get("value") for o in case.iter("option")}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "machine.xml")
        open(path, "w").write(text)
        scenario = case.get("scenario")
        if os.path.exists(os.path.join(ROOT, "fidelity", scenario)): scenario = os.path.join(ROOT, "fidelity", scenario)
        args = [simrun, path, scenario, "--format", "json", "--no-report", "--jobs", "1"]
        for k in ("devices", "size"):
            if k in options: args += [f"--{k}", options[k]]
        out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0: raise SystemExit(f"{simrun} failed on {case.get('id')}: {out.stderr.strip()}")
    flows = [f for f in json.loads(out.stdout)["flows"]
             if f["phase"] == case.get("phase") and (case.get("kind") is None or f.get("phase_kind") == case.get("kind"))]
    if not flows or flows[0]["latency_ns"] is None: raise SystemExit(f"no latency flow for {case.get('id')}")
    return flows[0]["latency_ns"]["p50"]

# The pcie-bench IOMMU machines of fidelity/suite.xml and their CPU platforms (PlatformDefaults.swift ids).
PLATFORM_OF = {"pb-bdw-t430-iommu": "broadwell-ep", "pb-hsw-x10srg-iommu": "haswell-ep",
               "pb-ivb-t620-iommu": "ivy-bridge-ep", "pb-snb-t620-iommu": "sandy-bridge-ep"}

def main():
    rows = []
    with open(os.path.join(ROOT, "fidelity", "derivation.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip(): continue
            i, default, kind, gen, width, mps, value, source = line.rstrip("\n").split("\t")
            rows.append(dict(id=i, default=default, kind=kind, gen=int(gen), width=int(width), mps=int(mps), value=float(value), source=source))
    suite = ET.parse(os.path.join(ROOT, "fidelity", "suite.xml")).getroot()
    cases = {c.get("id"): c for c in suite.iter("case")}
    problems = []
    results = {}
    by_default = {}
    for r in rows:
        by_default.setdefault(r["default"], []).append(r)
        c = cases.get(r["id"])
        if c is None: problems.append(f"derivation row {r['id']} is not a case of fidelity/suite.xml")
        elif c.get("derives") != r["default"]: problems.append(f"case {r['id']} does not say derives=\"{r['default']}\"")
    def published_gbps(case_id):
        c = cases.get(case_id)
        if c is None: raise SystemExit(f"no suite case {case_id}")
        m = re.fullmatch(r"([0-9.]+)GB/s", c.get("published"))
        if not m: raise SystemExit(f"{case_id}: published {c.get('published')} is not in GB/s")
        return float(m.group(1))
    # The duplex share first (socket rates use it), the walks in flight after the platforms' walk times.
    order = sorted(by_default, key=lambda d: (d != "fabric.duplexShare", d == "iommu.vtd.walksInFlight", d))
    walks = {}
    for default in order:
        rs = by_default[default]
        print(f"{default}:")
        if default == "fabric.duplexShare":
            values = []
            for r in rs:
                uni = published_gbps(r["id"].replace("p2p-bidir", "p2p-uni"))
                values.append(r["value"] / (2 * uni))
                print(f"  {r['id']}: {r['value']} GB/s both ways / (2 x {uni} one way) = {values[-1]:.4f}")
            value = round(median(values), 3)
            print(f"  median = {value}")
        elif default.endswith(".launchLatency") or default.endswith(".memoryLatency"):
            simrun = sys.argv[sys.argv.index("--simrun") + 1] if "--simrun" in sys.argv else os.path.join(ROOT, ".build", "debug", "simrun")
            param = "dma.launchLatency" if default.endswith(".launchLatency") else "rc.memoryLatency"
            values = []
            for r in rs:
                model = model_latency_without(param, cases[r["id"]], suite, simrun)
                published = r["value"] * 1000
                values.append(published - model)
                print(f"  {r['id']}: published {published:.0f} ns, simulated with {param}=0 {model:.1f} ns -> {published - model:.1f} ns")
            value = round(median(values))
            print(f"  median = {value} ns")
        elif default.endswith(".vtdWalkLatency"):
            # 64 B reads that always miss the IOTLB: each holds one of the NFP-6000's reads in flight for its walk and
            # the memory read (Little's law), so walk = in flight / reads per second - the host's 64 B read latency
            # without a walk (its lat-rd-64 case); per level over the 4 levels of a 4 KiB mapping.
            values = []
            for r in rs:
                latency = cases[r["id"].split("-iommu.")[0] + ".lat-rd-64"]
                ns = float(re.fullmatch(r"([0-9.]+)ns", latency.get("published")).group(1))
                reads = r["value"] * 1e9 / 64
                in_flight = results["device.netronome-nfp6000.outstandingReads"]
                walk = in_flight / reads * 1e9 - ns
                walks[default.split(".")[1]] = walk
                values.append(walk / 4)
                print(f"  {r['id']}: {reads / 1e6:.3f} M reads/s, {in_flight} in flight = {in_flight / reads * 1e9:.1f} ns a read, less {ns:.0f} ns ({latency.get('id')}) = {walk:.1f} ns a walk, {walk / 4:.1f} ns per level")
            value = round(median(values), 1)
        elif default == "iommu.vtd.walksInFlight":
            # 64 B writes that always miss: posted, so only the walks bound them: walks in flight = writes per second x
            # the platform's walk time (from its reads).
            values = []
            for r in rs:
                platform = cases[r["id"]].get("machine")
                writes = r["value"] * 1e9 / 64
                walk = walks[PLATFORM_OF[platform]]
                values.append(writes * walk * 1e-9)
                print(f"  {r['id']}: {writes / 1e6:.3f} M writes/s x {walk:.1f} ns ({PLATFORM_OF[platform]}) = {values[-1]:.2f} walks in flight")
            value = round(median(values))
            print(f"  rounded median = {value}")
        elif default.endswith(".outstandingReads"):
            values = []
            for r in rs:
                latency = cases[r["id"].rsplit(".", 1)[0] + ".lat-rd-64"]
                ns = float(re.fullmatch(r"([0-9.]+)ns", latency.get("published")).group(1))
                reads = r["value"] * 1e9 / 64
                values.append(reads * ns * 1e-9)
                print(f"  {r['id']}: {reads / 1e6:.3f} M reads/s x {ns:.0f} ns ({latency.get('id')}) = {values[-1]:.2f} in flight")
            value = round(median(values))
            print(f"  rounded median = {value}")
        elif default.endswith("IssueRate"):
            # 64 B DMAs: one TLP each; host reads of large buffers (kind host-read-mrrs512): one request per 512 B
            # (the MRRS these boards report), so the read rate over 512 is the requests per second.
            def per_second(r):
                return r["value"] * 1e9 / (512 if r["kind"] == "host-read-mrrs512" else 64)
            for r in rs:
                unit = "512 B read requests" if r["kind"] == "host-read-mrrs512" else "64 B DMAs"
                print(f"  {r['id']}: {r['value']} GB/s of {unit} = {per_second(r) / 1e6:.3f} M/s")
            value = round(median(per_second(r) / 1e6 for r in rs), 3)
            print(f"  median = {value} M TLPs/s")
        elif default == "link.ackWidthExponent":
            alphas = []
            for r in rs:
                a, interval, t = implied_alpha(r["gen"], r["width"], r["mps"], r["value"])
                alphas.append(a)
                print(f"  {r['id']}: Gen{r['gen']} x{r['width']} MPS {r['mps']} {r['value']} GB/s -> interval {interval:.2f} ns (T {t:.1f} ns), alpha {a:.4f}")
            value = round(sum(alphas) / len(alphas), 3)
            print(f"  mean alpha = {value}")
        else:
            values = []
            for r in rs:
                v = r["value"] / 2 if r["kind"] == "peer-ingress-bidir" else r["value"]
                if r["kind"] == "socket-p2p-bidir": v = r["value"] / (2 * results["fabric.duplexShare"])
                if r["kind"] == "rc-p2p-cap" and payload_ceiling(r["gen"], r["width"], r["mps"]) <= v:
                    problems.append(f"{r['id']}: {v} GB/s is not below the Gen{r['gen']} x{r['width']} link, so it shows no root-complex cap")
                values.append(v)
                print(f"  {r['id']}: {v} GB/s")
            value = round(median(values), 3)
            print(f"  median = {value} GB/s")
        results[default] = value
    # Platforms without a walk time of their own: 4 walks in flight over 4 levels that give Broadwell-EP's and
    # Haswell-EP's miss-bound reads (the same walk throughput as their rows, with a short walk): per level = 1 / reads
    # per second, the median.
    short = []
    for r in rows:
        if r["default"] in ("platform.broadwell-ep.vtdWalkLatency", "platform.haswell-ep.vtdWalkLatency"):
            short.append(64 / r["value"])
            print(f"iommu.vtd.walkLatency: {r['id']}: {r['value']} GB/s of 64 B reads = {r['value'] * 1e9 / 64 / 1e6:.2f} M/s -> {64 / r['value']:.2f} ns per level (4 walks, 4 levels)")
    results["iommu.vtd.walkLatency"] = round(median(short), 1)
    print(f"  median = {results['iommu.vtd.walkLatency']} ns")
    text = "# Written by scripts/fidelity/derive.py from fidelity/derivation.tsv; Sources/Sim/Transport/PlatformDefaults.swift\n" \
           "# and TransportParameters.swift carry the same values (a test checks).\n# default\tvalue\n" \
           + "".join(f"{k}\t{v}\n" for k, v in sorted(results.items()))
    path = os.path.join(ROOT, "fidelity", "derived-defaults.tsv")
    if "--write" in sys.argv:
        open(path, "w").write(text)
        print(f"wrote {path}")
    else:
        old = open(path).read() if os.path.exists(path) else ""
        if old != text: problems.append("fidelity/derived-defaults.tsv differs from what fidelity/derivation.tsv gives: run scripts/fidelity/derive.py --write")
    for p in problems: print("error: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)

main()
