"""Driven by scripts/peer-compare: see there. Needs PyYAML (the checkov venv has it)."""
import argparse, collections, json, os, re, subprocess, sys, tempfile, time
import yaml

# Ideas: one concept each, named by the kspm checks that implement it.
IDEA_OF_KSPM = {
    "KSPM-W-001": "privileged", "KSPM-W-002": "hostPID", "KSPM-W-003": "hostIPC", "KSPM-W-004": "hostNetwork",
    "KSPM-W-005": "hostPath", "KSPM-W-021": "runtime-socket", "KSPM-W-022": "hostPath",
    "KSPM-W-006": "hostPort", "KSPM-W-007": "caps-added", "KSPM-W-023": "caps-dangerous", "KSPM-W-008": "caps-drop-all",
    "KSPM-W-009": "allowPrivilegeEscalation", "KSPM-W-010": "runAsNonRoot", "KSPM-W-011": "runAsUser-0",
    "KSPM-W-012": "seccomp", "KSPM-W-013": "seccomp-unconfined", "KSPM-W-014": "apparmor", "KSPM-W-015": "selinux",
    "KSPM-W-016": "procMount", "KSPM-W-017": "sysctls", "KSPM-W-018": "hostProcess", "KSPM-W-020": "volume-types",
    "KSPM-W-024": "root-group", "KSPM-W-025": "readOnlyRootFilesystem", "KSPM-W-026": "default-namespace",
    "KSPM-I-001": "image-tag", "KSPM-I-002": "image-digest", "KSPM-I-005": "pull-policy",
    "KSPM-Q-001": "memory-limit", "KSPM-Q-002": "cpu-limit", "KSPM-Q-003": "requests",
    "KSPM-Q-004": "liveness", "KSPM-Q-005": "readiness",
    "KSPM-S-001": "sa-token-automount", "KSPM-S-003": "default-sa-automount", "KSPM-S-004": "secrets-in-env",
    "KSPM-S-006": "configmap-credentials", "KSPM-N-001": "network-policy", "KSPM-N-004": "network-policy",
    "KSPM-N-005": "externalIPs", "KSPM-N-009": "nginx-snippets", "KSPM-N-010": "dashboard",
    "KSPM-R-001": "cluster-admin", "KSPM-R-002": "rbac-wildcards", "KSPM-R-003": "read-secrets", "KSPM-R-004": "read-secrets",
    "KSPM-R-005": "create-pods", "KSPM-R-006": "exec", "KSPM-R-007": "nodes-proxy", "KSPM-R-008": "bind-escalate-impersonate",
    "KSPM-R-009": "csr-approval", "KSPM-R-010": "webhooks", "KSPM-R-016": "default-sa-bound",
}
IDEA_OF_PEER = {
    # trivy
    "KSV017": "privileged", "KSV010": "hostPID", "KSV008": "hostIPC", "KSV009": "hostNetwork",
    "KSV023": "hostPath", "KSV006": "runtime-socket", "KSV121": "hostPath", "KSV024": "hostPort",
    "KSV022": "caps-added", "KSV005": "caps-dangerous", "KSV119": "caps-added", "KSV003": "caps-drop-all", "KSV106": "caps-drop-all",
    "KSV001": "allowPrivilegeEscalation", "KSV012": "runAsNonRoot", "KSV105": "runAsUser-0", "KSV030": "seccomp",
    "KSV104": "seccomp", "KSV002": "apparmor", "KSV025": "selinux", "KSV027": "procMount", "KSV026": "sysctls",
    "KSV103": "hostProcess", "KSV028": "volume-types", "KSV116": "root-group", "KSV014": "readOnlyRootFilesystem",
    "KSV110": "default-namespace", "KSV013": "image-tag", "KSV018": "memory-limit", "KSV011": "cpu-limit",
    "KSV015": "requests", "KSV016": "requests", "KSV036": "sa-token-automount", "KSV038": "network-policy",
    "KSV108": "externalIPs", "KSV109": "configmap-credentials", "KSV111": "cluster-admin",
    "KSV044": "rbac-wildcards", "KSV045": "rbac-wildcards", "KSV046": "rbac-wildcards", "KSV112": "rbac-wildcards",
    "KSV041": "read-secrets", "KSV113": "read-secrets", "KSV048": "create-pods", "KSV053": "exec", "KSV054": "exec",
    "KSV047": "nodes-proxy", "KSV050": "bind-escalate-impersonate", "KSV043": "bind-escalate-impersonate", "KSV114": "webhooks",
    # checkov
    "CKV_K8S_16": "privileged", "CKV_K8S_17": "hostPID", "CKV_K8S_18": "hostIPC", "CKV_K8S_19": "hostNetwork",
    "CKV_K8S_27": "runtime-socket", "CKV_K8S_26": "hostPort", "CKV_K8S_25": "caps-added", "CKV_K8S_39": "caps-dangerous",
    "CKV_K8S_37": "caps-drop-all", "CKV_K8S_28": "caps-drop-all", "CKV_K8S_20": "allowPrivilegeEscalation",
    "CKV_K8S_23": "runAsNonRoot", "CKV_K8S_31": "seccomp", "CKV_K8S_22": "readOnlyRootFilesystem",
    "CKV_K8S_21": "default-namespace", "CKV_K8S_14": "image-tag", "CKV_K8S_43": "image-digest", "CKV_K8S_15": "pull-policy",
    "CKV_K8S_13": "memory-limit", "CKV_K8S_11": "cpu-limit", "CKV_K8S_10": "requests", "CKV_K8S_12": "requests",
    "CKV_K8S_8": "liveness", "CKV_K8S_9": "readiness", "CKV_K8S_38": "sa-token-automount", "CKV_K8S_41": "default-sa-automount",
    "CKV_K8S_42": "default-sa-bound", "CKV_K8S_35": "secrets-in-env", "CKV2_K8S_6": "network-policy",
    "CKV_K8S_49": "rbac-wildcards", "CKV2_K8S_5": "read-secrets", "CKV_K8S_155": "webhooks", "CKV_K8S_156": "csr-approval",
    "CKV_K8S_157": "bind-escalate-impersonate", "CKV_K8S_158": "bind-escalate-impersonate", "CKV2_K8S_3": "bind-escalate-impersonate",
    "CKV_K8S_33": "dashboard", "CKV_K8S_152": "nginx-snippets", "CKV_K8S_153": "nginx-snippets", "CKV_K8S_154": "nginx-snippets",
}
TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController"}
KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController",
         "Service", "Ingress", "ConfigMap", "Secret", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
         "ClusterRoleBinding", "Namespace", "NetworkPolicy", "Node"}


def flatten(src, dst):
    """Plain multi-document YAML, Lists expanded; returns {(kind, ns, name): owner key}."""
    objects = []
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (root == src and d in ("cloud", "kubelet")))
        for f in sorted(files):
            if not f.endswith((".yaml", ".yml", ".json")) or f.startswith("kspm-cluster"):
                continue
            with open(os.path.join(root, f)) as fh:
                for d in yaml.safe_load_all(fh):
                    if not isinstance(d, dict):
                        continue
                    if d.get("kind", "").endswith("List") and isinstance(d.get("items"), list):
                        objects.extend(i for i in d["items"] if isinstance(i, dict))
                    else:
                        objects.append(d)
    os.makedirs(dst, exist_ok=True)
    # One object per file: trivy reports findings per file without naming the object.
    files = {}
    for i, o in enumerate(objects):
        name = f"{i:05d}.yaml"
        with open(os.path.join(dst, name), "w") as fh:
            yaml.safe_dump(o, fh, sort_keys=False)
        files[name] = o
    cluster_scoped = {"Namespace", "Node", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "CustomResourceDefinition"}
    by_uid, keys = {}, {}
    for o in objects:
        m = o.get("metadata") or {}
        ns = None if o.get("kind") in cluster_scoped else m.get("namespace", "default")
        key = (o.get("kind"), ns, m.get("name"))
        keys[key] = m
        if m.get("uid"):
            by_uid[m["uid"]] = key
    owner = {}
    for key, m in keys.items():
        cur, seen = key, set()
        while cur not in seen:
            seen.add(cur)
            # kspm evaluates a pod template on its top-most owner that carries a template.
            refs = [r for r in (keys.get(cur) or {}).get("ownerReferences") or []
                    if r.get("controller") and r.get("kind") in TEMPLATE_KINDS]
            nxt = None
            for r in refs:
                nxt = by_uid.get(r.get("uid")) or ((r.get("kind"), cur[1], r.get("name")) if (r.get("kind"), cur[1], r.get("name")) in keys else None)
            if not nxt:
                break
            cur = nxt
        owner[key] = cur
    by_file = {}
    for name, o in files.items():
        m = o.get("metadata") or {}
        ns = None if o.get("kind") in cluster_scoped else m.get("namespace", "default")
        by_file[name] = (o.get("kind"), ns, m.get("name"))
    return owner, by_file


def timed(cmd, env=None):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return p, time.monotonic() - t


def run_kspm(d):
    p, secs = timed(["target/release/kspm", "scan", d, "--profile", "all", "-f", "json"])
    out = set()
    for f in json.loads(p.stdout)["findings"]:
        idea = IDEA_OF_KSPM.get(f["check"])
        if not idea:
            continue
        kind, rest = f["resource"].split(":", 1)
        ns, _, name = rest.rpartition("/") if "/" in rest else (None, "", rest)
        out.add((kind, ns or None, name, idea))
    return out, secs


def run_checkov(d, owner, out_json):
    _, secs = timed(["bash", "../shared/peers/run", "checkov", d, out_json])
    data = json.load(open(out_json))
    data = data if isinstance(data, list) else [data]
    out = set()
    for block in data:
        for f in (block.get("results") or {}).get("failed_checks", []):
            idea = IDEA_OF_PEER.get(f["check_id"])
            parts = f.get("resource", "").split(".")
            if not idea or len(parts) < 3:
                continue
            kind, ns, name = parts[0], parts[1], ".".join(parts[2:])
            key = (kind, ns, name) if (kind, ns, name) in owner else (kind, None, name)
            out.add(owner.get(key, key) + (idea,))
    return out, secs


RES = re.compile(r"(\w+) '([^']+)'(?: in '([^']+)' namespace)?")


def run_trivy(d, owner, by_file, out_json):
    _, secs = timed(["bash", "../shared/peers/run", "trivy", d, out_json])
    data = json.load(open(out_json))
    out = set()
    for r in data.get("Results") or []:
        key = by_file.get(os.path.basename(r.get("Target", "")))
        if not key:
            continue
        for m in r.get("Misconfigurations") or []:
            if m.get("Status") != "FAIL":
                continue
            idea = IDEA_OF_PEER.get(m.get("ID"))
            if idea:
                out.add(owner.get(key, key) + (idea,))
    return out, secs


def peer_has(tool, idea):
    prefix = "KSV" if tool == "trivy" else "CKV"
    return any(k.startswith(prefix) and v == idea for k, v in IDEA_OF_PEER.items())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown")
    ap.add_argument("--details", action="store_true", help="list every disagreement on stderr")
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kspm-peers-")
    totals = {"kspm": 0.0, "checkov": 0.0, "trivy": 0.0}
    rows = collections.defaultdict(lambda: collections.Counter())
    objects = 0
    for i, d in enumerate(a.dirs):
        flat = os.path.join(tmp, f"c{i}")
        owner, by_file = flatten(d, flat)
        objects += len(owner)
        k, tk = run_kspm(flat)
        c, tc = run_checkov(flat, owner, os.path.join(tmp, f"c{i}-checkov.json"))
        t, tt = run_trivy(flat, owner, by_file, os.path.join(tmp, f"c{i}-trivy.json"))
        totals["kspm"] += tk; totals["checkov"] += tc; totals["trivy"] += tt
        for name, peer in (("checkov", c), ("trivy", t)):
            for f in k | peer:
                idea = f[3]
                if not peer_has(name, idea):
                    continue
                if a.details and (f in k) != (f in peer):
                    print(f"{name}\t{'kspm-only' if f in k else 'peer-only'}\t{f}", file=sys.stderr)
                if f in k and f in peer:
                    rows[idea][f"{name}:both"] += 1
                elif f in k:
                    rows[idea][f"{name}:kspm-only"] += 1
                else:
                    rows[idea][f"{name}:peer-only"] += 1
        for f in k:
            rows[f[3]]["kspm"] += 1
    lines = [f"Input: {len(a.dirs)} cluster(s), {objects} objects. Wall-clock: kspm {totals['kspm']:.2f} s, "
             f"checkov {totals['checkov']:.2f} s ({totals['checkov'] / max(totals['kspm'], 1e-9):.0f}x), "
             f"trivy {totals['trivy']:.2f} s ({totals['trivy'] / max(totals['kspm'], 1e-9):.0f}x).", "",
             "| idea | kspm | checkov: both / kspm only / checkov only | trivy: both / kspm only / trivy only |",
             "|---|---|---|---|"]
    for idea in sorted(rows):
        r = rows[idea]
        def cell(p):
            if not peer_has(p, idea):
                return "no such check"
            return f"{r[f'{p}:both']} / {r[f'{p}:kspm-only']} / {r[f'{p}:peer-only']}"
        lines.append(f"| {idea} | {r['kspm']} | {cell('checkov')} | {cell('trivy')} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    sys.exit(main())
