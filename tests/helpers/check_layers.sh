#!/bin/sh
# check_layers.sh SRCDIR -- the floors of DESIGN.md section 3, enforced.
#
# gateway/ holds one folder per floor (each with a README saying what lives
# there and what it may use); our headers are included by their folder,
# "persist/store.h".  A file may include the headers of its own floor and
# of floors below, never above.  On top of that: the faces (inbound,
# outbound, the control socket and its commands) never include each other
# across the transport line and never reach the store or the journal but
# through the engine or the read-only reports; only the engine's own files
# include its private header; the core (every folder but engine/ and
# faces/) and the audit tool include nothing of libevent or libcurl.
#
# Prints one line per violation ("FOLDER/FILE: includes HEADER: why") and
# exits 1 if there is any, 0 if none.
set -u
src=${1:?usage: check_layers.sh SRCDIR}
gw="$src/gateway"

# floor of a folder, or of folder/module where a folder spans two floors
floor_of() {
	case $1 in
	util|util/*) echo 1 ;;
	conf|conf/*|msg|msg/*|persist/journal|persist/journal_*) echo 2 ;;
	fsm|fsm/*) echo 3 ;;
	persist|persist/*|report|report/*) echo 4 ;;
	engine|engine/*) echo 5 ;;
	faces|faces/*) echo 6 ;;
	audit|audit/*|programs|programs/*) echo 7 ;;
	esac
}

# the face a module belongs to (the control socket and its commands are
# one face), empty for modules that are no face
face_of() {
	case $1 in
	faces/inbound) echo inbound ;;
	faces/outbound) echo outbound ;;
	faces/control|faces/casecmd|faces/opscmd) echo control ;;
	esac
}

# the daemon's library and accordd's own files: everything else is the core
is_daemon() {
	case $1 in
	engine/*|faces/*|programs/accordd|programs/accordd_*) return 0 ;;
	esac
	return 1
}

bad=0
for d in "$gw"/*/; do
	d=$(basename "$d")
	if [ -z "$(floor_of "$d")" ]; then
		echo "$d/: a folder on no floor (add it to check_layers.sh)"
		bad=1
	elif [ ! -f "$gw/$d/README" ]; then
		echo "$d/: no README saying what lives there and what it may use"
		bad=1
	fi
done
for f in "$gw"/*.c "$gw"/*.h; do
	[ -e "$f" ] || continue
	echo "$(basename "$f"): a source outside the floors' folders"
	bad=1
done
for f in "$gw"/*/*.c "$gw"/*/*.h; do
	[ -e "$f" ] || continue
	rel=${f#"$gw"/}
	base=${rel##*/}
	mod=${rel%.*}
	mod=${mod%_priv}
	mf=$(floor_of "$mod")
	[ -n "$mf" ] || continue	# its folder is reported above
	mface=$(face_of "$mod")
	for h in $(sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)\.h".*/\1/p' "$f"); do
		[ "$h" = accord-build ] && continue	# configure's
		why=
		hmod=${h%_priv}
		hf=$(floor_of "$hmod")
		hface=$(face_of "$hmod")
		if [ "$h" = "${rel%.*}" ] || [ "$hmod" = "$mod" ]; then
			continue	# a module's own header
		elif [ -z "$hf" ] || [ "${h#*/}" = "$h" ]; then
			why="not a header of a floor's folder (write \"folder/name.h\")"
		elif [ "$h" != "$hmod" ] && [ "${hmod%%/*}" != "${mod%%/*}" ]; then
			why="a private header outside its folder"
		elif [ "$hf" -gt "$mf" ]; then
			why="floor $hf above floor $mf"
		elif [ -n "$mface" ] && [ -n "$hface" ] && [ "$mface" != "$hface" ]; then
			why="the $mface face may not use the $hface face"
		elif [ -n "$mface" ] && { [ "$h" = persist/store ] || [ "$h" = persist/journal ]; }; then
			why="a face reaches ${h#*/} only through the engine or the reports"
		elif ! is_daemon "$mod" && is_daemon "$hmod"; then
			why="the core (and accordctl, accord-audit) uses no daemon module"
		fi
		[ -z "$why" ] && continue
		echo "$rel: includes $h.h: $why"
		bad=1
	done
	# the network libraries stay out of the core and the audit tool
	if ! is_daemon "$mod" &&
	    grep -Eq '^[ \t]*#[ \t]*include[ \t]*<(event2|curl)/' "$f"; then
		echo "$rel: includes libevent or libcurl outside the daemon"
		bad=1
	fi
done
exit $bad
