#!/usr/bin/env bash
# TAP: the kipc tool's ls, stat, rm, mkfifo, write and read verbs, their output (table and JSON)
# and their exit codes (0 ok, 1 object missing or failing, 2 usage), over a
# private namespace.  Objects are made by tests/helpers/mkobj; corrupted
# ones by hand.  Needs $KIPC_BUILD/kipc and $KIPC_BUILD/tests/helpers/mkobj;
# python3 for the JSON points (skipped without it).
set -u
build=${KIPC_BUILD:-build}
kipc=$build/kipc
mkobj=$build/tests/helpers/mkobj
export KIPC_NAMESPACE=/dev/shm/kipc-test-tool-$$
ns=$KIPC_NAMESPACE
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$ns" "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
umask 022

n=0 fail=0
t() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# What the last command printed and returned: $rc, $out, $err.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
show() {	# on failure: the last command's output, as TAP comments
	{ echo "exit $rc"; echo "stdout:"; echo "$out"; echo "stderr:"; echo "$err"; } | sed 's/^/#   /'
}
check() {	# check DESCRIPTION CONDITION...: one point, evaluated with test
	local what=$1
	shift
	if "$@"; then t 0 "$what"; else t 1 "$what"; show; fi
}
# The row of `kipc ls` for KIND and NAME/ID, as printed.
row() { K=$1 ID=$2 awk 'NR > 1 && $1 == ENVIRON["K"] && $2 == ENVIRON["ID"]' <<<"$out"; }
col() { awk -v c="$2" '{ print $c }' <<<"$1"; }

have_py=0
command -v python3 >/dev/null 2>&1 && python3 -c 'import json' 2>/dev/null && have_py=1
# JSON from stdin is valid: UTF-8, one value, no member name twice.
json_valid() {
	python3 -c '
import json, sys
def pairs(kv):
    keys = [k for k, _ in kv]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError("duplicate member names: %s" % ", ".join(dup))
    return dict(kv)
try:
    json.loads(sys.stdin.buffer.read().decode("utf-8"), object_pairs_hook=pairs)
except Exception as e:
    print("#   %s" % e)
    sys.exit(1)
'
}
# json_expr EXPR: EXPR is true of `v`, the JSON value read from stdin (a
# repeated member name keeps its last value); the environment is E.
json_expr() {
	python3 -c '
import json, os, sys
v = json.loads(sys.stdin.buffer.read().decode("utf-8", "replace"))
E = os.environ
ok = eval("(" + sys.argv[1] + ")")
if not ok:
    print("#   false of %s" % json.dumps(v))
sys.exit(0 if ok else 1)
' "$1"
}
# jcheck DESCRIPTION EXPR: a point on $out (skipped without python3).
jcheck() {
	if [ "$have_py" = 0 ]; then skip "no python3: $1"; return; fi
	local why
	if why=$(json_expr "$2" <<<"$out"); then t 0 "$1"; else t 1 "$1"; echo "$why"; fi
}
jvalid() {
	local why
	if [ "$have_py" = 0 ]; then skip "no python3: $1"; return; fi
	if why=$(json_valid <<<"$out"); then t 0 "$1"; else t 1 "$1"; echo "$why"; show; fi
}
# Wait (5 s at most) for an attacher started with `attach ID` to be attached.
attach() {
	local f=$tmp/attach.$RANDOM _
	"$mkobj" attach "$1" 60 >"$f" 2>&1 &
	apid=$!
	pids+=("$apid")
	for _ in $(seq 50); do
		grep -q attached "$f" && return 0
		kill -0 "$apid" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/#   attach: /' "$f"
	return 1
}

if [ ! -x "$kipc" ] || [ ! -x "$mkobj" ]; then
	echo "not ok 1 - $kipc and $mkobj are built (make $kipc $mkobj)"
	echo "1..1"
	exit 1
fi
me=$(id -un 2>/dev/null || id -u)
uid=$(id -u)
page=$(getconf PAGESIZE)
export me uid

# ---- help, usage, exit 2 ----

run "$kipc" --help
check "kipc --help: exit 0, usage on stdout" \
	test "$rc" = 0 -a -n "$(grep 'usage: kipc COMMAND' <<<"$out")" -a -z "$err"
for verb in ls stat rm; do
	run "$kipc" $verb --help
	check "kipc $verb --help: exit 0, its usage on stdout" \
		test "$rc" = 0 -a -n "$(grep "usage: kipc $verb" <<<"$out")" -a -z "$err"
done
run "$kipc" version
check "kipc version: exit 0, 'kipc VERSION'" test "$rc" = 0 -a -n "$(grep '^kipc [0-9]' <<<"$out")"
run "$kipc"
check "kipc alone: exit 2, usage on stderr" test "$rc" = 2 -a -n "$(grep usage <<<"$err")"
run "$kipc" frobnicate
check "unknown command: exit 2, named on stderr" \
	test "$rc" = 2 -a -n "$(grep "unknown command 'frobnicate'" <<<"$err")"
run "$kipc" ls --bogus
check "ls --bogus: exit 2, unknown option" test "$rc" = 2 -a -n "$(grep -- '--bogus' <<<"$err")"
run "$kipc" ls extra
check "ls with an argument: exit 2" test "$rc" = 2
run "$kipc" rm -x /a
check "rm -x: exit 2" test "$rc" = 2 -a -n "$err"
run "$kipc" rm
check "rm with nothing to remove: exit 2" test "$rc" = 2 -a -n "$(grep usage <<<"$err")"
run "$kipc" stat
check "stat with no object: exit 2" test "$rc" = 2 -a -n "$(grep usage <<<"$err")"
run "$kipc" stat --json
check "stat --json with no object: exit 2" test "$rc" = 2

# ---- an empty namespace (that does not even exist) ----

run "$kipc" ls
check "ls of an empty namespace: exit 0, prints nothing" test "$rc" = 0 -a -z "$out" -a -z "$err"
run "$kipc" ls --json
check "ls --json of an empty namespace: []" test "$rc" = 0 -a "$out" = "[]"
check "ls does not create the namespace" test ! -e "$ns"

# ---- bad names: exit 2 ----

long=/$(printf 'a%.0s' $(seq 256))
for bad in noslash /a/b / '' shm: 'shm:x' /. /.. "$long" sysv-shm:abc sysv-shm:-1 sysv-shm:; do
	run "$kipc" stat "$bad"
	check "stat '${bad:0:20}': a bad name, exit 2 with a message" test "$rc" = 2 -a -n "$err"
done
run "$kipc" rm /a/b
check "rm /a/b: exit 2" test "$rc" = 2 -a -n "$err"
run "$kipc" rm -m abc
check "rm -m abc: exit 2, not a number" test "$rc" = 2 -a -n "$(grep 'not a number' <<<"$err")"
run "$kipc" rm -M 0xzz
check "rm -M 0xzz: exit 2" test "$rc" = 2 -a -n "$err"

# ---- missing objects: exit 1 ----

run "$kipc" stat /missing
check "stat /missing: exit 1, 'no such object' on stderr, nothing on stdout" \
	test "$rc" = 1 -a -n "$(grep 'no such object' <<<"$err")" -a -z "$out"
run "$kipc" stat sysv-shm:12345
check "stat sysv-shm:12345 (missing): exit 1 with a message" test "$rc" = 1 -a -n "$err"
run "$kipc" rm /missing
check "rm /missing: exit 1 with a message" test "$rc" = 1 -a -n "$(grep 'no such object' <<<"$err")"
run "$kipc" rm -m 12345
check "rm -m 12345 (missing): exit 1" test "$rc" = 1 -a -n "$err"
run "$kipc" rm -M 0x12345
check "rm -M 0x12345 (missing): exit 1" test "$rc" = 1 -a -n "$err"

# ---- a populated namespace ----

# shellcheck disable=SC2089  # the quote is part of the name
pname='/my seg"q'			# a space and a quote
ptab=$'/tab\there'			# a control character
# shellcheck disable=SC2090
export pname ptab
run "$mkobj" shm "$pname" 1234 640
check "made POSIX segment '$pname'" test "$rc" = 0
run "$mkobj" shm "$ptab" 7 600
check "made POSIX segment '/tab\\there'" test "$rc" = 0
run "$mkobj" sysv 0x1234 5000 600
idk=$out
check "made System V segment with key 0x1234 (id $idk)" test "$rc" = 0 -a -n "$idk"
run "$mkobj" sysv private 100 644
idp=$out
check "made IPC_PRIVATE System V segment (id $idp)" test "$rc" = 0 -a -n "$idp"
export idk idp
attach "$idk"
t $? "attached segment $idk from another process (pid $apid)"
att=$apid
export att

run "$kipc" ls
check "ls: exit 0, a header line, nothing on stderr" \
	test "$rc" = 0 -a -z "$err" -a -n "$(head -n 1 <<<"$out" | grep 'KIND.*NAME/ID.*KEY.*OWNER.*MODE.*SIZE')"
check "ls: 4 objects" test "$(($(wc -l <<<"$out") - 1))" = 4
r=$(row shm '/my\x20seg"q')
check "ls: POSIX segment, name escaped (\\x20), no key, owner $me, 0640, 1234 bytes, live" \
	test -n "$r" -a "$(col "$r" 3)" = - -a "$(col "$r" 4)" = "$me" -a "$(col "$r" 5)" = 0640 \
	-a "$(col "$r" 6)" = 1234 -a "$(col "$r" 7)" = live
r=$(row shm '/tab\x09here')
check "ls: a control character in a name is escaped (\\x09)" test -n "$r" -a "$(col "$r" 6)" = 7
r=$(row sysv-shm "$idk")
check "ls: keyed segment: id $idk, key 0x00001234, owner $me, 0600, size 5000 (asked, not rounded), live, nattch=1, lpid=$att" \
	test -n "$r" -a "$(col "$r" 3)" = 0x00001234 -a "$(col "$r" 4)" = "$me" -a "$(col "$r" 5)" = 0600 \
	-a "$(col "$r" 6)" = 5000 -a "$(col "$r" 7)" = live -a -n "$(grep -w 'nattch=1' <<<"$r")" \
	-a -n "$(grep -w "lpid=$att" <<<"$r")"
r=$(row sysv-shm "$idp")
check "ls: private segment: id $idp, key 0x00000000, 0644, size 100, live, nattch=0" \
	test -n "$r" -a "$(col "$r" 3)" = 0x00000000 -a "$(col "$r" 5)" = 0644 \
	-a "$(col "$r" 6)" = 100 -a "$(col "$r" 7)" = live -a -n "$(grep -w 'nattch=0' <<<"$r")"

run "$kipc" ls --json
check "ls --json: exit 0, nothing on stderr" test "$rc" = 0 -a -z "$err"
jvalid "ls --json is valid JSON"
jcheck "ls --json: an array of 4 objects" 'isinstance(v, list) and len(v) == 4'
jcheck "ls --json: POSIX segment with its name unescaped and every field" \
	'[o for o in v if o["kind"] == "shm" and o["name"] == E["pname"] and o["owner"] == E["me"]
	  and o["uid"] == int(E["uid"]) and o["mode"] == "0640" and o["size"] == 1234
	  and o["state"] == "live" and "key" not in o]'
jcheck "ls --json: the tab comes back as a tab" \
	'[o for o in v if o["kind"] == "shm" and o["name"] == E["ptab"] and o["size"] == 7]'
jcheck "ls --json: keyed segment: name, key, owner, mode, size, state, nattch 1, lpid" \
	'[o for o in v if o["kind"] == "sysv-shm" and o["name"] == E["idk"] and o["key"] == "0x00001234"
	  and o["owner"] == E["me"] and o["mode"] == "0600" and o["size"] == 5000
	  and o["state"] == "live" and o["nattch"] == 1 and o["lpid"] == int(E["att"])]'
jcheck "ls --json: private segment: key 0x00000000, size 100, nattch 0" \
	'[o for o in v if o["kind"] == "sysv-shm" and o["name"] == E["idp"] and o["key"] == "0x00000000"
	  and o["mode"] == "0644" and o["size"] == 100 and o["nattch"] == 0]'

# ---- stat ----

run "$kipc" stat "$pname"
check "stat '$pname': exit 0, kind, name, owner, mode and size" \
	test "$rc" = 0 -a -z "$err" -a -n "$(grep -x 'kind: shm' <<<"$out")" \
	-a -n "$(grep -xF 'name: /my\x20seg"q' <<<"$out")" -a -n "$(grep -x 'size: 1234' <<<"$out")" \
	-a -n "$(grep -x 'mode: 0640' <<<"$out")" -a -n "$(grep "^owner: $me (uid $uid" <<<"$out")"
run "$kipc" stat "shm:$pname"
check "stat 'shm:$pname': the same object" test "$rc" = 0 -a -n "$(grep -x 'size: 1234' <<<"$out")"
fsize=$(stat -c %s "$ns/sysv/shm.$idk")
run "$kipc" stat "sysv-shm:$idk"
check "stat sysv-shm:$idk: exit 0, header fields (version 2, file_size $fsize, data_offset, creator_pid, creator_uid, created)" \
	test "$rc" = 0 -a -z "$err" -a -n "$(grep -x 'version: 2' <<<"$out")" \
	-a -n "$(grep -x "file_size: $fsize" <<<"$out")" \
	-a -n "$(grep -E '^data_offset: [0-9]+$' <<<"$out")" \
	-a -n "$(grep -E '^creator_pid: [1-9][0-9]*$' <<<"$out")" \
	-a -n "$(grep -x "creator_uid: $uid" <<<"$out")" -a -n "$(grep -E '^created: [1-9]' <<<"$out")"
check "stat sysv-shm:$idk: file_size is data_offset + 5000 rounded up to a page" \
	test "$fsize" = $(($(sed -n 's/^data_offset: //p' <<<"$out") + (5000 + page - 1) / page * page))
check "stat sysv-shm:$idk: kind, state, key, size 5000, nattch 1, lpid $att, attach_slots" \
	test -n "$(grep -x 'kind: sysv-shm' <<<"$out")" -a -n "$(grep -x 'state: live' <<<"$out")" \
	-a -n "$(grep -x 'key: 0x00001234' <<<"$out")" -a -n "$(grep -x 'size: 5000' <<<"$out")" \
	-a -n "$(grep -x 'nattch: 1' <<<"$out")" -a -n "$(grep -x "lpid: $att" <<<"$out")" \
	-a -n "$(grep -E '^attach_slots: [1-9]' <<<"$out")"
run "$kipc" stat "sysv-shm:$idk" "sysv-shm:$idp" "$pname"
check "stat of three objects: exit 0, three kind: lines" \
	test "$rc" = 0 -a "$(grep -c '^kind: ' <<<"$out")" = 3
run "$kipc" stat "sysv-shm:$idp" /missing
check "stat of one present and one missing: exit 1, the present one shown" \
	test "$rc" = 1 -a -n "$(grep -x 'kind: sysv-shm' <<<"$out")" -a -n "$(grep 'no such object' <<<"$err")"
run "$kipc" stat --json "sysv-shm:$idk"
check "stat --json sysv-shm:$idk: exit 0" test "$rc" = 0 -a -z "$err"
jcheck "stat --json: header and live fields, numbers as numbers" \
	'v["kind"] == "sysv-shm" and v["name"] == E["idk"] and v["version"] == 2
	 and v["creator_pid"] > 0 and v["file_size"] > 5000 and v["nattch"] == 1 and v["size"] == 5000
	 and v["key"] == "0x00001234"'
jvalid "stat --json is valid JSON, no member named twice"

# ---- ambiguous names ----

run "$mkobj" shm /dual 10 600
check "made POSIX segment /dual" test "$rc" = 0
mkdir -p "$ns/mq" && : >"$ns/mq/dual"
run "$kipc" stat /dual
check "stat /dual, both a segment and a queue: exit 2, 'ambiguous'" \
	test "$rc" = 2 -a -n "$(grep ambiguous <<<"$err")" -a -z "$out"
run "$kipc" rm /dual
check "rm /dual: exit 2, 'ambiguous', nothing removed" \
	test "$rc" = 2 -a -n "$(grep ambiguous <<<"$err")" -a -e "$ns/shm/dual" -a -e "$ns/mq/dual"
run "$kipc" stat shm:/dual
check "stat shm:/dual resolves it: exit 0, kind shm, size 10" \
	test "$rc" = 0 -a -n "$(grep -x 'kind: shm' <<<"$out")" -a -n "$(grep -x 'size: 10' <<<"$out")"
run "$kipc" stat mq:/dual
check "stat mq:/dual (an empty file, not an object): exit 1, not a valid kipc object file" \
	test "$rc" = 1 -a -n "$(grep 'not a valid kipc object file' <<<"$err")"
run "$kipc" rm mq:/dual
check "rm mq:/dual: exit 0, the queue's file gone, the segment kept" \
	test "$rc" = 0 -a ! -e "$ns/mq/dual" -a -e "$ns/shm/dual"
run "$kipc" stat /dual
check "stat /dual, no longer ambiguous: exit 0" test "$rc" = 0
run "$kipc" rm /dual
check "rm /dual: exit 0, gone" test "$rc" = 0 -a ! -e "$ns/shm/dual"

# ---- corrupted object files ----

run "$mkobj" sysv 0x5555 10 600
idm=$out
run "$mkobj" sysv private 10 600
idt=$out
export idm idt
check "made segments $idm (key 0x5555, its magic to be overwritten) and $idt (to be truncated)" \
	test -n "$idm" -a -n "$idt" -a -e "$ns/sysv/shm.key.00005555"
printf XXXXXXXX | dd of="$ns/sysv/shm.$idm" conv=notrunc status=none
truncate -s "$page" "$ns/sysv/shm.$idt"
run "$kipc" ls
check "ls with corrupted files: exit 0, every object still listed" \
	test "$rc" = 0 -a "$(($(wc -l <<<"$out") - 1))" = 6
r=$(row sysv-shm "$idm")
check "ls: the overwritten file is listed as sysv-shm $idm, corrupt, with an error" \
	test -n "$r" -a -n "$(grep -w corrupt <<<"$r")" -a -n "$(grep 'error=' <<<"$r")"
r=$(row sysv-shm "$idt")
check "ls: the truncated file is listed as sysv-shm $idt, corrupt, size $page, with an error" \
	test -n "$r" -a -n "$(grep -w corrupt <<<"$r")" -a -n "$(grep 'error=' <<<"$r")" \
	-a -n "$(grep -w "$page" <<<"$r")"
r=$(row sysv-shm "$idk")
check "ls: the good ones are still live" test -n "$r" -a "$(col "$r" 7)" = live
run "$kipc" ls --json
jvalid "ls --json with corrupted files is valid JSON"
jcheck "ls --json: both corrupted files with state corrupt and an error" \
	'len([o for o in v if o["state"] == "corrupt" and o.get("error")
	      and (E["idm"] in o["name"] or E["idt"] in o["name"])]) == 2 and len(v) == 6'
for id in "$idm" "$idt"; do
	run "$kipc" stat "sysv-shm:$id"
	check "stat sysv-shm:$id (corrupted): exit 1, 'not a valid kipc object file' on stderr" \
		test "$rc" = 1 -a -n "$(grep "sysv-shm:$id: not a valid kipc object file" <<<"$err")"
done
run "$kipc" rm "sysv-shm:$idm"
check "rm sysv-shm:$idm (bad magic): exit 0, file and key link gone" \
	test "$rc" = 0 -a -z "$err" -a ! -e "$ns/sysv/shm.$idm" -a ! -e "$ns/sysv/shm.key.00005555"
run "$kipc" rm -m "$idt"
check "rm -m $idt (truncated): exit 0, file gone" test "$rc" = 0 -a ! -e "$ns/sysv/shm.$idt"
run "$kipc" ls
check "ls: back to 4 objects" test "$(($(wc -l <<<"$out") - 1))" = 4

# ---- rm ----

run "$kipc" rm "sysv-shm:$idk"
check "rm of attached segment $idk: exit 0, its key link gone" \
	test "$rc" = 0 -a -z "$err" -a ! -e "$ns/sysv/shm.key.00001234"
run "$kipc" ls
r=$(row sysv-shm "$idk")
check "ls: the attached segment stays listed, removed, nattch=1" \
	test -n "$r" -a "$(col "$r" 7)" = removed -a -n "$(grep -w 'nattch=1' <<<"$r")"
check "ls: the removed segment is keyless (0x00000000, as IPC_STAT and ipcs show it)" \
	test -n "$r" -a "$(col "$r" 3)" = 0x00000000
run "$kipc" stat "sysv-shm:$idk"
check "stat of the removed segment: exit 0, state removed" \
	test "$rc" = 0 -a -n "$(grep -x 'state: removed' <<<"$out")"
run "$mkobj" sysv 0x1234 64 600
idk2=$out
check "its key is free again: a new segment 0x1234 is made (id $idk2)" test "$rc" = 0 -a "$idk2" != "$idk"
kill -TERM "$att"
wait "$att"
check "the attacher exits normally on SIGTERM (status 0)" test $? = 0
run "$kipc" ls
check "ls: the removed segment is gone with its last attacher" test -z "$(row sysv-shm "$idk")"
check "its file is gone" test ! -e "$ns/sysv/shm.$idk"
run "$kipc" stat "sysv-shm:$idk"
check "stat sysv-shm:$idk: exit 1 now" test "$rc" = 1

run "$mkobj" sysv 0x7777 10 600
idx=$out
attach "$idx"
t $? "attached segment $idx (key 0x7777) from another process"
run "$kipc" rm -m "$idx"
check "rm -m $idx: exit 0" test "$rc" = 0
{ kill -9 "$apid"; wait "$apid"; } 2>/dev/null
run "$kipc" ls
check "ls: a removed segment whose last attacher was killed (-9) is gone" \
	test -z "$(row sysv-shm "$idx")"

run "$kipc" rm -M 0x1234
check "rm -M 0x1234: exit 0, segment $idk2 and its key link gone" \
	test "$rc" = 0 -a ! -e "$ns/sysv/shm.$idk2" -a ! -e "$ns/sysv/shm.key.00001234"
run "$kipc" rm -m "$idp"
check "rm -m $idp (IPC_PRIVATE): exit 0, gone" test "$rc" = 0 -a ! -e "$ns/sysv/shm.$idp"
run "$mkobj" sysv private 10 600
idq=$out
run "$kipc" rm /missing "$ptab" "sysv-shm:$idq"
check "rm of a missing and two present objects: exit 1, the present ones removed" \
	test "$rc" = 1 -a ! -e "$ns/shm/${ptab#/}" -a ! -e "$ns/sysv/shm.$idq"

# A name that is not UTF-8: JSON output must still be UTF-8.
bad8=$'/bad\xffname'
run "$mkobj" shm "$bad8" 1 600
run "$kipc" ls --json
jvalid "ls --json with a name that is not UTF-8 is valid JSON (UTF-8)"
run "$kipc" rm "$bad8"
check "rm of the non-UTF-8 name: exit 0" test "$rc" = 0

# ---- System V message queues and semaphore sets ----

run "$mkobj" msg 0x7100 3
idq=$out
run "$mkobj" sem 0x7200 4
ids=$out
run "$kipc" ls
r=$(row sysv-msg "$idq")
check "ls: the message queue, key 0x00007100, 3 messages of 30 bytes" \
	test -n "$r" -a "$(col "$r" 3)" = 0x00007100 -a -n "$(grep -w 'qnum=3' <<<"$r")" \
	-a -n "$(grep -w 'cbytes=30' <<<"$r")"
r=$(row sysv-sem "$ids")
check "ls: the semaphore set, key 0x00007200, 4 semaphores" \
	test -n "$r" -a "$(col "$r" 3)" = 0x00007200 -a -n "$(grep -w 'nsems=4' <<<"$r")"
run "$kipc" stat "sysv-msg:$idq"
check "stat sysv-msg:$idq: exit 0, qbytes 16384" test "$rc" = 0 -a -n "$(grep '^qbytes: 16384' <<<"$out")"
run "$kipc" rm -q "$idq"
check "rm -q $idq removes the queue" test "$rc" = 0 -a ! -e "$ns/sysv/msg.$idq" -a ! -e "$ns/sysv/msg.key.00007100"
run "$kipc" rm -S 0x7200
check "rm -S 0x7200 removes the set by key" test "$rc" = 0 -a ! -e "$ns/sysv/sem.$ids"
run "$kipc" rm -q "$idq"
check "rm -q of a removed queue: exit 1" test "$rc" = 1 -a -n "$(grep 'no such message queue' <<<"$err")"

# ---- FIFOs: mkfifo, write, read ----

run "$kipc" mkfifo --help
check "mkfifo --help: exit 0, usage" test "$rc" = 0 -a -n "$(grep -i usage <<<"$out")"
run "$kipc" mkfifo
check "mkfifo without a name: exit 2" test "$rc" = 2
run "$kipc" mkfifo bad/name
check "mkfifo of a bad name: exit 2" test "$rc" = 2
run "$kipc" mkfifo -m 0640 /q
check "mkfifo -m 0640 /q: exit 0, the file exists with mode 0640" \
	test "$rc" = 0 -a "$(stat -c %a "$ns/fifo/q" 2>/dev/null)" = 640
run "$kipc" mkfifo /q
check "mkfifo of an existing FIFO: exit 1, EEXIST on stderr" \
	test "$rc" = 1 -a -n "$(grep -i exists <<<"$err")"
run "$kipc" ls
r=$(row fifo /q)
check "ls: /q listed as a fifo, no bytes, 64 KiB, no readers or writers" \
	test -n "$r" -a -n "$(grep -w 'bytes=0' <<<"$r")" -a -n "$(grep -w 'capacity=65536' <<<"$r")" \
	-a -n "$(grep -w 'readers=0' <<<"$r")" -a -n "$(grep -w 'writers=0' <<<"$r")"
# A reader waiting in the background is counted.
"$kipc" read /q >"$tmp/fifo-out" &
rpid=$!
pids+=("$rpid")
for _ in $(seq 100); do
	run "$kipc" ls
	grep -qw 'readers=1' <<<"$(row fifo /q)" && break
	sleep 0.05
done
check "ls: a waiting kipc read counts as one reader" test -n "$(grep -w 'readers=1' <<<"$(row fifo /q)")"
seq 1 50000 >"$tmp/fifo-in"
run "$kipc" write /q <"$tmp/fifo-in"
check "kipc write /q < 288 KB of input: exit 0" test "$rc" = 0
wait "$rpid"
rrc=$?
check "kipc read /q ends with exit 0 once the writer is gone" test "$rrc" = 0
check "what kipc read printed is exactly what kipc write was given" cmp -s "$tmp/fifo-in" "$tmp/fifo-out"
run "$kipc" stat fifo:/q
check "stat fifo:/q: exit 0, capacity and counts shown" \
	test "$rc" = 0 -a -n "$(grep '^capacity: 65536' <<<"$out")" -a -n "$(grep '^readers: 0' <<<"$out")"
run "$kipc" write
check "write without a FIFO: exit 2" test "$rc" = 2
run "$kipc" read /nonesuch
check "read of a missing FIFO: exit 1 with a message" test "$rc" = 1 -a -n "$err"
run "$kipc" rm /q
check "rm /q removes the FIFO" test "$rc" = 0 -a ! -e "$ns/fifo/q"

# ---- rm -a ----

run "$mkobj" sysv 0x4242 10 600
run "$mkobj" sysv private 10 600
run "$mkobj" shm /last 1 600
mkdir -p "$ns/sysv"
printf 'not an object' >"$ns/sysv/shm.999999"
if [ "$uid" = 0 ]; then
	: >"$ns/shm/theirs" && chown 65534:65534 "$ns/shm/theirs"
fi
run "$kipc" ls
before=$(($(wc -l <<<"$out") - 1))
run "$kipc" rm -a
check "rm -a: exit 0, nothing on stderr" test "$rc" = 0 -a -z "$err"
if [ "$uid" = 0 ]; then
	run "$kipc" ls --json
	check "rm -a (as root) keeps an object owned by another user" \
		test -e "$ns/shm/theirs" -a "$(grep -c '"kind"' <<<"$out")" = 1
	rm -f "$ns/shm/theirs"
else
	skip "not root: no object of another user to make"
fi
run "$kipc" ls --json
check "after rm -a ($before objects): ls --json is []" test "$rc" = 0 -a "$out" = "[]"
check "no object file or key link is left" \
	test -z "$(find "$ns" -type f ! -name .ids)"
run "$kipc" rm -a
check "rm -a of nothing: exit 0" test "$rc" = 0 -a -z "$err"

echo "1..$n"
exit $fail
