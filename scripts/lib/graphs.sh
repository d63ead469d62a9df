# scripts/lib/graphs.sh — helpers shared by scripts/sanitize, edge-check, footprint and fuzz
# (source it; needs $repo set to the repository root and the venv from scripts/setup).
#
#   $GRAPH_MODELS                     names of the Graphs models (manifest order), read on sourcing
#   graph_inputs NAME                 kiln-run arguments binding NAME's sample inputs, one per line
#   compile_graphs DIR [KILN FLAGS]   compiles every model to DIR/NAME.kplan with the release kiln
#                                     (brought up to date first), e.g. compile_graphs DIR --no-compress

GRAPH_MODELS=$("$repo/.venv/bin/python" -c "
import json
for name in json.load(open('$repo/Graphs/manifest.json'))['models']: print(name)")
[ -n "$GRAPH_MODELS" ] || { echo "graphs.sh: no models in Graphs/manifest.json" >&2; exit 1; }

graph_inputs() {
    "$repo/.venv/bin/python" -c "
import json
m = json.load(open('$repo/Graphs/manifest.json'))['models']['$1']
for i in m['inputs']: print('--input'); print(i['name'] + '=$repo/Graphs/' + i['file'])"
}

compile_graphs() {
    local dir=$1
    shift
    local kiln="$repo/.build/release/kiln"
    (cd "$repo" && swift build -c release --product kiln >/dev/null)
    mkdir -p "$dir"
    local name
    for name in $GRAPH_MODELS; do
        "$kiln" compile "$repo/Graphs/$name.onnx" -o "$dir/$name.kplan" "$@" >/dev/null
    done
}
