#!/bin/sh
# --help, the man pages and the option table agree; man pages lint clean.
. "$(dirname "$0")/lib.sh"

$MUSTER --help > $T/help
mandoc -Tascii man/muster.1 2>/dev/null | sed "s/.\x08//g" > $T/man
opts=$(sed -n 's/^\t{ "\(-[^"]*\)", O_[A-Z]*, [01], .*/\1/p' launcher/options.c |
	grep -v -e '^--agent$' -e '^--mpi-rank$' -e '^--dial$')
ok_if "option table read" [ "$(echo "$opts" | wc -l)" -gt 25 ]
missing_help="" missing_man=""
for o in $opts; do
	grep -q -- "\\(^\\|[ ,(]\\)$o\\([ ,)=]\\|$\\)" $T/help || missing_help="$missing_help $o"
	grep -q -- "\\(^\\|[ ,(]\\)$o\\([ ,)=]\\|$\\)" $T/man || missing_man="$missing_man $o"
done
is "every option is in --help" "$missing_help" ""
is "every option is in muster.1" "$missing_man" ""
for page in man/*.[0-9]; do
	ok_if "mandoc -Tlint $page" sh -c "mandoc -Tlint -W warning $page > $T/lint 2>&1 && ! [ -s $T/lint ]"
done
done_testing
