# The example programs build against the public header and run: a user's
# codec registered at run time round-trips through a pipeline spec.
. "$(dirname "$0")/lib.sh"
dir="$(dirname "$TPRESS")/examples"
"$dir/roundtrip" | tee "$WORK/roundtrip.txt"
grep -q "SNR" "$WORK/roundtrip.txt" || fail "roundtrip printed no SNR"
"$dir/custom_codec" | tee "$WORK/custom.txt"
[ "$(grep -c '^mulaw8' "$WORK/custom.txt")" -eq 2 ] || fail "custom_codec did not run both mulaw8 specs"
