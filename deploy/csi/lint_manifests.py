#!/usr/bin/env python3
"""Offline consistency checks of rendered heqet-csi manifests (called by validate.sh).

kubernetes-validate checks each object against the API schema; this checks what no schema
can: that the objects fit together and fit the driver's contract. Every kubelet path
follows the rendered kubelet dir, names refer to objects that exist, the node plugin has
what keeps its mounts alive, images are pinned.

Usage: lint_manifests.py --kubelet-dir DIR --namespace NS [--image-prefix P] RENDERED_DIR
(RENDERED_DIR as written by `render.sh --out`: manifests/ and examples/). Prints every
failed check; exits 1 if there is one.
"""

import argparse
import pathlib
import sys

import yaml

DRIVER = "glusterfs.heqet.io"
SOCKET_DIR = "/csi"
ENDPOINT = "unix:///csi/csi.sock"
CSI_ADDRESS = "--csi-address=/csi/csi.sock"

# API versions current Kubernetes serves, and no beta.
ALLOWED_API_VERSIONS = {"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1"}
CLUSTER_SCOPED = {"Namespace", "CSIDriver", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


class Lint:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
        return ok


def load(directory):
    docs = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((path.parent.name + "/" + path.name, doc))
    return docs


def one(docs, kind, name=None):
    found = [d for _, d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    return found[0] if len(found) == 1 else None


def containers_by_name(pod_spec):
    return {c["name"]: c for c in pod_spec.get("containers", [])}


def args_of(container):
    return list(container.get("args", [])) + list(container.get("command", []))


def mount_at(container, volumes, mount_path):
    """The (volumeMount, volume) mounted at mount_path, or (None, None)."""
    for m in container.get("volumeMounts", []):
        if m["mountPath"] == mount_path:
            return m, volumes.get(m["name"])
    return None, None


def lint_pod_common(lint, where, pod_spec, image_prefix):
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for c in pod_spec.get("containers", []):
        image = c.get("image", "")
        last = image.rsplit("/", 1)[-1]
        lint.check(":" in last or "@" in image, f"{where}/{c['name']}: image {image!r} has no pinned tag")
        lint.check(not image.endswith(":latest"), f"{where}/{c['name']}: image {image!r} uses :latest")
        if image_prefix:
            lint.check(image.startswith(image_prefix + "/"), f"{where}/{c['name']}: image {image!r} not from {image_prefix}")
        for m in c.get("volumeMounts", []):
            lint.check(m["name"] in volumes, f"{where}/{c['name']}: mounts undefined volume {m['name']!r}")
        port_names = {p["name"] for p in c.get("ports", []) if "name" in p}
        for probe_kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = c.get(probe_kind)
            if probe and "httpGet" in probe:
                port = probe["httpGet"]["port"]
                if isinstance(port, str):
                    lint.check(port in port_names, f"{where}/{c['name']}: {probe_kind} names port {port!r} it does not declare")
    return volumes


def lint_driver(lint, docs, kubelet_dir, namespace, image_prefix):
    for where, d in docs:
        name = f"{where}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
        lint.check(d.get("apiVersion") in ALLOWED_API_VERSIONS, f"{name}: apiVersion {d.get('apiVersion')!r} not allowed")
        ns = d.get("metadata", {}).get("namespace")
        if d.get("kind") in CLUSTER_SCOPED:
            lint.check(ns is None, f"{name}: cluster-scoped object has a namespace")
        else:
            lint.check(ns == namespace, f"{name}: namespace {ns!r}, want {namespace!r}")

    ns_obj = one(docs, "Namespace", namespace)
    if lint.check(ns_obj is not None, f"no Namespace {namespace}"):
        labels = ns_obj["metadata"].get("labels", {})
        lint.check(labels.get("pod-security.kubernetes.io/enforce") == "privileged",
                   "the namespace does not admit the privileged node plugin (pod-security enforce)")

    drv = one(docs, "CSIDriver", DRIVER)
    if lint.check(drv is not None, f"no CSIDriver {DRIVER}"):
        spec = drv["spec"]
        lint.check(spec.get("attachRequired") is False, "CSIDriver: attachRequired must be false")
        lint.check(spec.get("podInfoOnMount") is False, "CSIDriver: podInfoOnMount must be false")
        lint.check(spec.get("fsGroupPolicy") == "None", "CSIDriver: fsGroupPolicy must be None")

    # RBAC: every binding names a role and service accounts that exist.
    sas = {d["metadata"]["name"] for _, d in docs if d["kind"] == "ServiceAccount"}
    roles = {(d["kind"], d["metadata"]["name"]) for _, d in docs if d["kind"] in ("Role", "ClusterRole")}
    for _, b in docs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        ref = b["roleRef"]
        lint.check((ref["kind"], ref["name"]) in roles, f"{b['kind']}/{b['metadata']['name']}: no {ref['kind']} {ref['name']}")
        for s in b["subjects"]:
            lint.check(s["kind"] == "ServiceAccount" and s["name"] in sas and s.get("namespace") == namespace,
                       f"{b['kind']}/{b['metadata']['name']}: subject {s} is not one of our ServiceAccounts")
    granted = set()
    for _, r in docs:
        if r["kind"] in ("Role", "ClusterRole"):
            for rule in r["rules"]:
                for g in rule["apiGroups"]:
                    for res in rule["resources"]:
                        for v in rule["verbs"]:
                            granted.add((g, res, v))
    for need in [("", "persistentvolumes", "create"), ("", "persistentvolumes", "delete"),
                 ("", "persistentvolumes", "patch"), ("", "persistentvolumeclaims", "update"),
                 ("", "persistentvolumeclaims/status", "patch"), ("storage.k8s.io", "storageclasses", "watch"),
                 ("", "events", "create"), ("coordination.k8s.io", "leases", "update"), ("", "secrets", "get")]:
        lint.check(need in granted, f"RBAC: nothing grants {need[2]} on {need[0] or 'core'}/{need[1]}")

    # The controller.
    dep = one(docs, "Deployment", "heqet-csi-controller")
    if lint.check(dep is not None, "no Deployment heqet-csi-controller"):
        pod = dep["spec"]["template"]["spec"]
        lint.check(pod.get("serviceAccountName") in sas, "controller: serviceAccountName is not one of our ServiceAccounts")
        volumes = lint_pod_common(lint, "controller", pod, image_prefix)
        cs = containers_by_name(pod)
        for want in ("heqet-csi", "csi-provisioner", "csi-resizer", "liveness-probe"):
            lint.check(want in cs, f"controller: no container {want}")
        drv_c = cs.get("heqet-csi", {})
        a = args_of(drv_c)
        lint.check("--mode=controller" in a, "controller: heqet-csi lacks --mode=controller")
        lint.check(f"--drivername={DRIVER}" in a, "controller: heqet-csi lacks --drivername")
        lint.check(f"--endpoint={ENDPOINT}" in a, "controller: heqet-csi endpoint is not the shared socket")
        lint.check("livenessProbe" in drv_c, "controller: heqet-csi has no livenessProbe")
        prov = args_of(cs.get("csi-provisioner", {}))
        lint.check("--extra-create-metadata" in prov, "controller: csi-provisioner lacks --extra-create-metadata")
        lint.check("--timeout=120s" in prov, "controller: csi-provisioner --timeout is not 120s")
        for side in ("csi-provisioner", "csi-resizer", "liveness-probe"):
            lint.check(CSI_ADDRESS in args_of(cs.get(side, {})), f"controller: {side} does not use {CSI_ADDRESS}")
        for side in ("csi-provisioner", "csi-resizer"):
            lint.check("--leader-election" in args_of(cs.get(side, {})), f"controller: {side} lacks --leader-election")
        for name, c in cs.items():
            m, v = mount_at(c, volumes, SOCKET_DIR)
            lint.check(m is not None and v is not None and "emptyDir" in v, f"controller/{name}: {SOCKET_DIR} is not the shared emptyDir")

    # The node plugin.
    ds = one(docs, "DaemonSet", "heqet-csi-node")
    if lint.check(ds is not None, "no DaemonSet heqet-csi-node"):
        pod = ds["spec"]["template"]["spec"]
        lint.check(pod.get("serviceAccountName") in sas, "node: serviceAccountName is not one of our ServiceAccounts")
        lint.check(pod.get("hostPID") is True, "node: hostPID must be true (the FUSE client starts in PID 1's context)")
        lint.check(pod.get("hostNetwork") is True, "node: hostNetwork must be true")
        volumes = lint_pod_common(lint, "node", pod, image_prefix)
        for v in volumes.values():
            if "hostPath" in v:
                p = v["hostPath"]["path"]
                lint.check(p == "/dev" or p == kubelet_dir or p.startswith(kubelet_dir + "/"),
                           f"node: hostPath {p} is neither /dev nor under the kubelet dir {kubelet_dir}")
        cs = containers_by_name(pod)
        for want in ("heqet-csi", "node-driver-registrar", "liveness-probe"):
            lint.check(want in cs, f"node: no container {want}")
        plugin = cs.get("heqet-csi", {})
        a = args_of(plugin)
        lint.check("--mode=node" in a, "node: heqet-csi lacks --mode=node")
        lint.check(f"--kubelet-dir={kubelet_dir}" in a, f"node: heqet-csi lacks --kubelet-dir={kubelet_dir}")
        lint.check("--nodeid=$(NODE_ID)" in a, "node: heqet-csi lacks --nodeid=$(NODE_ID)")
        lint.check(f"--drivername={DRIVER}" in a, "node: heqet-csi lacks --drivername")
        env = {e["name"]: e for e in plugin.get("env", [])}
        lint.check(env.get("NODE_ID", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
                   "node: NODE_ID does not come from spec.nodeName")
        lint.check(plugin.get("securityContext", {}).get("privileged") is True, "node: heqet-csi is not privileged")
        lint.check("livenessProbe" in plugin, "node: heqet-csi has no livenessProbe")
        m, v = mount_at(plugin, volumes, kubelet_dir)
        lint.check(m is not None and v is not None and v.get("hostPath", {}).get("path") == kubelet_dir,
                   f"node: the kubelet dir {kubelet_dir} is not mounted at the same path")
        lint.check(m is not None and m.get("mountPropagation") == "Bidirectional", "node: kubelet dir mount is not Bidirectional")
        m, v = mount_at(plugin, volumes, "/dev")
        lint.check(v is not None and v.get("hostPath", {}).get("path") == "/dev", "node: /dev (fuse) is not mounted")
        plugin_dir = f"{kubelet_dir}/plugins/{DRIVER}"
        for name in ("heqet-csi", "node-driver-registrar", "liveness-probe"):
            m, v = mount_at(cs.get(name, {}), volumes, SOCKET_DIR)
            lint.check(v is not None and v.get("hostPath", {}).get("path") == plugin_dir,
                       f"node/{name}: {SOCKET_DIR} is not the plugin dir {plugin_dir}")
        reg = cs.get("node-driver-registrar", {})
        ra = args_of(reg)
        lint.check(f"--kubelet-registration-path={plugin_dir}/csi.sock" in ra,
                   f"node: registrar's --kubelet-registration-path is not {plugin_dir}/csi.sock")
        lint.check(CSI_ADDRESS in ra, "node: registrar does not use the plugin socket")
        m, v = mount_at(reg, volumes, "/registration")
        lint.check(v is not None and v.get("hostPath", {}).get("path") == f"{kubelet_dir}/plugins_registry",
                   f"node: /registration is not {kubelet_dir}/plugins_registry")


def lint_examples(lint, docs, namespace, image_prefix):
    for where, d in docs:
        lint.check(d.get("apiVersion") in ALLOWED_API_VERSIONS, f"{where}: apiVersion {d.get('apiVersion')!r} not allowed")
    secrets = {d["metadata"]["name"] for _, d in docs if d["kind"] == "Secret"}
    for _, d in docs:
        if d["kind"] == "Secret":
            lint.check(d["metadata"].get("namespace") == namespace, f"Secret {d['metadata']['name']}: not in {namespace}")
    classes = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "StorageClass"}
    lint.check(len(classes) == 2, "examples: want two StorageClasses (heqet, existing heketi)")
    for name, sc in classes.items():
        p = sc.get("parameters", {})
        lint.check(sc["provisioner"] == DRIVER, f"StorageClass {name}: provisioner is not {DRIVER}")
        lint.check(sc.get("allowVolumeExpansion") is True, f"StorageClass {name}: allowVolumeExpansion is not true")
        lint.check(sc.get("reclaimPolicy") == "Delete", f"StorageClass {name}: reclaimPolicy is not Delete")
        lint.check(p.get("volumetype") == "replicate:3", f"StorageClass {name}: volumetype is not replicate:3")
        lint.check("resturl" in p and "restuser" in p, f"StorageClass {name}: no resturl/restuser")
        lint.check("restuserkey" not in p, f"StorageClass {name}: key in the clear (restuserkey)")
        for op in ("provisioner", "controller-expand"):
            lint.check(p.get(f"csi.storage.k8s.io/{op}-secret-namespace") == namespace,
                       f"StorageClass {name}: {op} secret not in {namespace}")
            lint.check(bool(p.get(f"csi.storage.k8s.io/{op}-secret-name")), f"StorageClass {name}: no {op} secret")
    heqet = classes.get("glusterfs-heqet", {}).get("parameters", {})
    lint.check(heqet.get("csi.storage.k8s.io/provisioner-secret-name") in secrets,
               "StorageClass glusterfs-heqet: its Secret is not among the examples")
    pvc = one(docs, "PersistentVolumeClaim")
    if lint.check(pvc is not None, "examples: no PVC"):
        lint.check("ReadWriteMany" in pvc["spec"]["accessModes"], "PVC: not ReadWriteMany")
        lint.check(pvc["spec"].get("storageClassName") in classes, "PVC: storageClassName is not an example class")
    pod = one(docs, "Pod")
    if lint.check(pod is not None, "examples: no Pod"):
        spec = pod["spec"]
        lint_pod_common(lint, "example pod", spec, image_prefix)
        claims = [v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v]
        lint.check(pvc is not None and claims == [pvc["metadata"]["name"]], "example pod does not use the example PVC")
        lint.check(bool(spec.get("securityContext", {}).get("supplementalGroups")),
                   "example pod: no supplementalGroups (the volume's gid)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubelet-dir", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--image-prefix", default="")
    ap.add_argument("rendered", type=pathlib.Path)
    opts = ap.parse_args()
    lint = Lint()
    driver_docs = load(opts.rendered / "manifests")
    example_docs = load(opts.rendered / "examples")
    lint.check(bool(driver_docs), f"{opts.rendered}/manifests: no documents")
    lint.check(bool(example_docs), f"{opts.rendered}/examples: no documents")
    lint_driver(lint, driver_docs, opts.kubelet_dir, opts.namespace, opts.image_prefix)
    lint_examples(lint, example_docs, opts.namespace, opts.image_prefix)
    for f in lint.failures:
        print(f"lint: FAIL {f}")
    print(f"lint: {opts.rendered}: {lint.passed} checks passed, {len(lint.failures)} failed")
    return 1 if lint.failures else 0


if __name__ == "__main__":
    sys.exit(main())
