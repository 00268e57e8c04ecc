#!/usr/bin/env python3
"""A minimal kspm API client: generates Python stubs from proto/ at run time and prints the
tenant's clusters, posture, most serious findings and attack paths, and the posture drift
between a target's last two scans. With `--trigger TARGET`
it first scans the target now: TriggerScan answers at once with a job, which it follows with
GetScanJob until the scan is committed.

    python3 -m venv .venv && .venv/bin/pip install grpcio grpcio-tools
    KSPM_TOKEN=demo-token .venv/bin/python examples/api/client.py 127.0.0.1:50051
    KSPM_TOKEN=demo-token .venv/bin/python examples/api/client.py 127.0.0.1:50051 --trigger demo-fleet
"""
import importlib.resources
import os
import pathlib
import sys
import tempfile
import time

import grpc
from google.protobuf import json_format
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parents[2]


def stubs():
    out = tempfile.mkdtemp(prefix="kspm-stubs-")
    proto = ROOT / "proto"
    # The well-known types (google/protobuf/timestamp.proto) ship inside grpc_tools.
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    rc = protoc.main(["protoc", f"-I{proto}", f"-I{well_known}", f"--python_out={out}",
                      f"--grpc_python_out={out}", str(proto / "kspm/v1/posture.proto")])
    if rc != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out)
    from kspm.v1 import posture_pb2, posture_pb2_grpc  # noqa: E402
    return posture_pb2, posture_pb2_grpc


def trigger(pb, client, auth, target):
    """Scans `target` now and follows its job until it ends (exits on failure)."""
    job = client.TriggerScan(pb.TriggerScanRequest(target=target), metadata=auth).jobs[0]
    print(f"job {job.id}: {pb.ScanJob.State.Name(job.state)} ({job.detail})")
    while not job.HasField("finished_at"):
        time.sleep(0.5)
        job = client.GetScanJob(pb.GetScanJobRequest(id=job.id), metadata=auth).job
    print(f"job {job.id}: {pb.ScanJob.State.Name(job.state)} ({job.detail})")
    if job.state != pb.ScanJob.STATE_SUCCEEDED:
        sys.exit(1)
    print(f"scan {job.scan.id}: {job.scan.findings} findings, {job.scan.attack_paths} attack paths")


def main():
    args = sys.argv[1:]
    scan_now = None
    if "--trigger" in args:
        i = args.index("--trigger")
        if i + 1 >= len(args):
            sys.exit("--trigger needs a target name")
        scan_now = args[i + 1]
        del args[i:i + 2]
    target = args[0] if args else "127.0.0.1:50051"
    token = os.environ.get("KSPM_TOKEN")
    if not token:
        sys.exit("set KSPM_TOKEN to the tenant's bearer token")
    pb, rpc = stubs()
    client = rpc.PostureServiceStub(grpc.insecure_channel(target))
    auth = [("authorization", f"Bearer {token}")]
    if scan_now:
        trigger(pb, client, auth, scan_now)
    for c in client.ListClusters(pb.ListClustersRequest(), metadata=auth).clusters:
        print(f"cluster {c.name} ({c.provider} {c.kubernetes_version}): {c.objects} objects, "
              f"gaps={list(c.coverage_gaps)}")
    posture = client.GetPosture(pb.GetPostureRequest(framework="cis-kubernetes", with_controls=True),
                                metadata=auth)
    for f in posture.frameworks:
        failing = [c.id for c in f.controls if c.status == "fail"]
        print(f"  {f.cluster} CIS: {f.score:.1f}% ({f.passed} passed, {f.failed} failed: "
              f"{', '.join(failing[:5])}{'…' if len(failing) > 5 else ''})")
    page = client.ListFindings(pb.ListFindingsRequest(min_severity=pb.SEVERITY_CRITICAL, page_size=5),
                               metadata=auth)
    print(f"{page.total} critical findings; first {len(page.findings)}:")
    for f in page.findings:
        # Key findings on their fingerprint (stable across scans), not on id or message.
        print(f"  {f.fingerprint} {f.cluster} {f.check} {f.resource}: {f.message} "
              f"(since {f.first_seen.ToJsonString()}, last seen {f.last_seen.ToJsonString()})")
    paths = client.ListAttackPaths(pb.ListAttackPathsRequest(page_size=3), metadata=auth)
    print(f"{paths.total} attack paths; top {len(paths.paths)}:")
    for p in paths.paths:
        print(f"  [{p.score:.0f}] {p.cluster}: " + " → ".join([p.source] + [s.to for s in p.steps]))
    latest = client.ListScans(pb.ListScansRequest(page_size=1), metadata=auth).scans
    if latest:
        scans = client.ListScans(pb.ListScansRequest(target=latest[0].target, page_size=2),
                                 metadata=auth).scans
        if len(scans) == 2:
            drift = client.GetDrift(pb.GetDriftRequest(from_scan_id=scans[1].id,
                                                       to_scan_id=scans[0].id), metadata=auth)
            print(f"drift of {scans[0].target} from {scans[1].id} to {scans[0].id}: "
                  f"{len(drift.changes)} posture changes")
            for ch in drift.changes[:5]:
                # The digest as data (google.protobuf.Value): a binding's roleRef and subjects,
                # a NetworkPolicy's spec, ...; text where it is not JSON.
                value = ch.after_value if ch.HasField("after_value") else ch.before_value
                print(f"  {ch.change} {ch.category} {ch.cluster} {ch.item}: "
                      f"{json_format.MessageToJson(value, indent=None)}")


if __name__ == "__main__":
    main()
