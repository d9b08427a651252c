#!/usr/bin/env bash
# TAP: the shared library has a versioned SONAME and exports only the
# public kipc_ API, never internal kipc__ helpers or anything else.
set -u
lib=${KIPC_BUILD:-build}/libkipc.so
n=0 fail=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[ "$soname" = libkipc.so.1 ]; t $? "SONAME is libkipc.so.1 (got '$soname')"
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}' | grep -v '^KIPC_0$')
[ -n "$syms" ]; t $? "the library exports symbols"
bad=$(printf '%s\n' "$syms" | grep -v '^kipc_[a-z0-9]')
[ -z "$bad" ]; t $? "every exported symbol is kipc_<name>${bad:+; offenders: $(echo $bad)}"
echo "1..$n"
exit $fail
