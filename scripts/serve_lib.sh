# serve_lib.sh: sourced by the demo and the benchmarks. start_serve MODELGATE CONFIG LOG starts
# `modelgate serve` in the background and waits for its "listening" line (written at any log
# level) to learn the bound port: it sets SERVE_PID and PORT, or prints the log and returns 1.
# stop_serve sends SIGTERM and waits for the drain.
start_serve() {
  "$1" serve --config "$2" 2>"$3" &
  SERVE_PID=$!
  PORT=""
  for _ in $(seq 1 200); do
    PORT="$(sed -n 's/.*"event":"listening".*"port":\([0-9][0-9]*\).*/\1/p' "$3" | head -n1)"
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$3" >&2
  echo "modelgate serve did not start" >&2
  return 1
}

stop_serve() {
  kill -TERM "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
}
# cluster_state_fixture.sh: write_cluster_state FILE NAMESPACE writes a frozen cluster state (what
# `kubectl get pvc,pv,ns -A -o yaml` prints, trimmed) in which claim "models" in NAMESPACE is Bound
# to PersistentVolume "models-ro-pv" and the volume's claimRef names it back: what the serve-based
# scripts (demo, soak, benchmark, image test) give `clusterState.files` so their pvc sources, which
# name volumeName "^models-ro-pv$", are proven without an API server. The shape follows the
# real objects in ../shared/vectors/kube-api (ml-prod/models, models-ro-pv).
write_cluster_state() {
  cat >"$1" <<YAML
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: $2, labels: {kubernetes.io/metadata.name: $2}}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: models, namespace: $2, uid: 6eda8234-d7c7-4dc3-977c-abcb467e5bf2}
  spec: {accessModes: [ReadOnlyMany], volumeName: models-ro-pv, storageClassName: ""}
  status: {phase: Bound}
- apiVersion: v1
  kind: PersistentVolume
  metadata: {name: models-ro-pv}
  spec:
    accessModes: [ReadOnlyMany]
    claimRef: {kind: PersistentVolumeClaim, namespace: $2, name: models, uid: 6eda8234-d7c7-4dc3-977c-abcb467e5bf2}
    nfs: {server: nfs.ml.acme.internal, path: /exports/models}
  status: {phase: Bound}
YAML
}
