#!/bin/sh
# kiln_run_test.sh — end-to-end checks of the kiln-run tool on fixtures written by
# `kiln-test --fixtures`: a good run (named, positional, npy 2.0), and every error path,
# each of which must exit 1 with a one-line message.
KILN_RUN=${KILN_RUN:-build/kiln-run}
KILN_TEST=${KILN_TEST:-$(dirname "$KILN_RUN")/kiln-test}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$KILN_TEST" --fixtures "$DIR" || { echo "FAIL: fixtures"; exit 1; }
failures=0
checks=0

ok() { # ok DESCRIPTION COMMAND...
    desc=$1; shift
    checks=$((checks + 1))
    if ! "$@" > "$DIR/stdout" 2> "$DIR/stderr"; then
        echo "FAIL: $desc: $(cat "$DIR/stderr")"; failures=$((failures + 1))
    fi
}

fails() { # fails DESCRIPTION EXPECTED-TEXT COMMAND...
    desc=$1; want=$2; shift 2
    checks=$((checks + 1))
    if "$@" > "$DIR/stdout" 2> "$DIR/stderr"; then
        echo "FAIL: $desc: succeeded"; failures=$((failures + 1)); return
    fi
    lines=$(wc -l < "$DIR/stderr")
    if ! grep -q -- "$want" "$DIR/stderr" || [ "$lines" -ne 1 ]; then
        echo "FAIL: $desc: expected one line with \"$want\", got: $(cat "$DIR/stderr")"; failures=$((failures + 1))
    fi
}

same_output() { # compares the payload of an output .npy with the expected bytes
    checks=$((checks + 1))
    if ! tail -c 24 "$1" | cmp -s - "$DIR/expected.bin"; then echo "FAIL: $1 has the wrong data"; failures=$((failures + 1)); fi
}

P="$DIR/plan.kplan"
ok "named input" "$KILN_RUN" "$P" --input "x=$DIR/x.npy" --output-dir "$DIR/out1"
same_output "$DIR/out1/y_0.npy"
ok "positional input, npy 2.0, nested output dir" "$KILN_RUN" "$P" --input "$DIR/x_v2.npy" --output-dir "$DIR/a/b" --threads 2
same_output "$DIR/a/b/y_0.npy"
fails "missing plan" "cannot open" "$KILN_RUN" "$DIR/nope.kplan" --input "x=$DIR/x.npy" --output-dir "$DIR/o"
fails "newer plan" "not supported" "$KILN_RUN" "$DIR/bad.kplan" --input "x=$DIR/x.npy" --output-dir "$DIR/o"
fails "fortran order" "Fortran-order" "$KILN_RUN" "$P" --input "x=$DIR/fortran.npy" --output-dir "$DIR/o"
fails "truncated data" "truncated data" "$KILN_RUN" "$P" --input "x=$DIR/truncated.npy" --output-dir "$DIR/o"
fails "shape mismatch" "has shape (6,), the plan expects (2, 3)" "$KILN_RUN" "$P" --input "x=$DIR/shape.npy" --output-dir "$DIR/o"
fails "dtype mismatch" "holds f64, the plan expects f32" "$KILN_RUN" "$P" --input "x=$DIR/f64.npy" --output-dir "$DIR/o"
fails "object array" "object arrays" "$KILN_RUN" "$P" --input "x=$DIR/object.npy" --output-dir "$DIR/o"
fails "big endian" "big-endian" "$KILN_RUN" "$P" --input "x=$DIR/bigendian.npy" --output-dir "$DIR/o"
fails "not npy" "not a .npy file" "$KILN_RUN" "$P" --input "x=$DIR/garbage.npy" --output-dir "$DIR/o"
fails "missing input" "input \"x\" is not bound" "$KILN_RUN" "$P" --output-dir "$DIR/o"
fails "unknown input" "no input named \"z\"" "$KILN_RUN" "$P" --input "z=$DIR/x.npy" --output-dir "$DIR/o"
fails "bound twice" "bound twice" "$KILN_RUN" "$P" --input "x=$DIR/x.npy" --input "$DIR/x.npy" --output-dir "$DIR/o"
fails "bad threads" "--threads needs a number" "$KILN_RUN" "$P" --input "x=$DIR/x.npy" --output-dir "$DIR/o" --threads 0
fails "no output dir" "usage" "$KILN_RUN" "$P" --input "x=$DIR/x.npy"
echo "kiln-run: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
