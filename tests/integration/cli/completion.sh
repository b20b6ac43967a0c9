#!/bin/bash
# shell-completion/bash/vaultenv in a plain bash (no bash-completion
# package): the completion function is called as bash calls it, with
# COMP_WORDS and COMP_CWORD set, and its COMPREPLY compared. Covers the
# subcommands, each one's options (and that they are the options its
# --help lists), --format values, file names for -m/-o/--value-file and the
# dotenv file, mapped names for `get`, and commands after exec/learn.
. "$(dirname "$0")/../lib.sh"
: "${VE_SOURCE_ROOT:?}" "${VE_CLI:?}"
comp_file=$VE_SOURCE_ROOT/shell-completion/bash/vaultenv
unset VAULTENV_MAP

# A directory to complete file names in, and a command on PATH.
w=$VE_TMP/w
mkdir -p "$w/bin" "$w/conf.d"
cp "$VE_SOURCE_ROOT/doc/examples/app.map" "$w/app.map"
: >"$w/.env"
: >"$w/other.txt"
printf '#!/bin/sh\n' >"$w/bin/vaultenv-test-prog"
chmod 755 "$w/bin/vaultenv-test-prog"

# comp WORD... : completes the last WORD (may be empty) of the command line
# "WORD..." in a fresh bash; prints the candidates sorted, one a line.
comp() {
        (cd "$w" && PATH="$w/bin:$PATH" bash --norc --noprofile -c '
                set -u
                . "$1"
                shift
                COMP_WORDS=("$@")
                COMP_CWORD=$(($# - 1))
                COMP_LINE="$*"
                COMP_POINT=${#COMP_LINE}
                _vaultenv vaultenv "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$comp_file" "$@" 2>"$VE_TMP/comp.err")
}
# expect "WORDS" CANDIDATE... : the completion of WORDS is exactly CANDIDATE...
expect() {
        local line=$1 got want words
        shift
        read -ra words <<<"$line"
        # a line ending in a blank completes an empty word
        [[ $line == *" " ]] && words+=("")
        got=$(comp "${words[@]}") || { fail "complete '$line': the function failed: $(head -c 300 "$VE_TMP/comp.err")"; return; }
        want=""
        [ $# -gt 0 ] && want=$(printf '%s\n' "$@" | sort)
        if [ "$got" = "$want" ] && [ ! -s "$VE_TMP/comp.err" ]; then
                ok "complete '$line' -> $*"
        else
                got=${got//$'\n'/ }
                fail "complete '$line': got [${got:0:300}], want [$*]$( [ -s "$VE_TMP/comp.err" ] && echo "; stderr: $(head -c 300 "$VE_TMP/comp.err")")"
        fi
}
E='' # stands for the empty word being completed

check "the completion file has valid bash syntax" bash -n "$comp_file"
check "it registers _vaultenv for vaultenv" bash --norc --noprofile -c ". '$comp_file' && complete -p vaultenv | grep -q -- '-F _vaultenv'"

# Subcommands.
expect "vaultenv $E" exec check get export migrate rotate learn policy version help
expect "vaultenv ex" exec export
expect "vaultenv -" -h --help --version
expect "vaultenv help ex" exec export
expect "vaultenv version $E"

# Options per subcommand.
expect "vaultenv check --" --help --json --map --quiet
expect "vaultenv exec --e" --eager --env
expect "vaultenv get -" -m --map -q --quiet -h --help
expect "vaultenv export --" --format --help --map --quiet
expect "vaultenv migrate --" --mount --prefix --pattern --output --dry-run --force --quiet --help
expect "vaultenv rotate --" --length --value-file --quiet --help
expect "vaultenv learn --" --output --force --quiet --help
expect "vaultenv policy --" --map --learned --name --json --detect --quiet --help

# Option values.
expect "vaultenv export --format $E" sh dotenv json
expect "vaultenv export --format j" json
expect "vaultenv export --format = d" dotenv            # bash split "--format=d" at "="
expect "vaultenv export -f $E" sh dotenv json
expect "vaultenv export -m app.map --format $E" sh dotenv json
expect "vaultenv exec --on-change $E" HUP USR1 USR2 TERM INT restart
expect "vaultenv exec --on-change r" restart
expect "vaultenv exec --on-change HUP --watch-interval $E"
expect "vaultenv exec --on-change HUP --grace 5s vaultenv-test-pr" vaultenv-test-prog
expect "vaultenv migrate --mount $E"
expect "vaultenv policy --name $E"
expect "vaultenv rotate --length $E"

# File names.
expect "vaultenv exec -m ap" app.map
expect "vaultenv check --map ot" other.txt
expect "vaultenv learn -o con" conf.d
expect "vaultenv rotate --value-file ap" app.map
expect "vaultenv rotate -f ap" app.map
expect "vaultenv policy --learned ap" app.map
expect "vaultenv learn -f vaultenv-test-p" vaultenv-test-prog   # learn's -f takes no argument
expect "vaultenv migrate .e" .env
expect "vaultenv migrate --prefix app .e" .env
expect "vaultenv migrate --dry-run .env $E"

# A command after exec / learn, then the command's arguments (file names
# without bash-completion); vaultenv's options are not offered there.
expect "vaultenv exec vaultenv-test-p" vaultenv-test-prog
expect "vaultenv exec -- vaultenv-test-p" vaultenv-test-prog
expect "vaultenv exec -m app.map --eager vaultenv-test-p" vaultenv-test-prog
expect "vaultenv exec --map = app.map vaultenv-test-p" vaultenv-test-prog
expect "vaultenv exec -- vaultenv-test-prog ap" app.map
expect "vaultenv exec -- vaultenv-test-prog --e"
expect "vaultenv learn -o out.map -- vaultenv-test-p" vaultenv-test-prog
expect "vaultenv learn vaultenv-test-prog ot" other.txt

# get: the names of the mapping file (-m, --map=, else VAULTENV_MAP).
expect "vaultenv get -m app.map $E" ANTHROPIC_API_KEY DATABASE_URL DEBUG GREETING LEGACY_TOKEN PGPASSWORD PGUSER
expect "vaultenv get -m app.map PG" PGPASSWORD PGUSER
expect "vaultenv get --map = app.map PG" PGPASSWORD PGUSER
got=$(VAULTENV_MAP=$w/app.map comp vaultenv get DE)
check "complete 'vaultenv get DE' with VAULTENV_MAP -> DEBUG" test "$got" = DEBUG
# get takes several names: each operand completes alike
expect "vaultenv get -m app.map PGPASSWORD PG" PGPASSWORD PGUSER
expect "vaultenv get -m missing.map $E"

# The completion offers the long options each subcommand's --help lists,
# and no others (but --quiet and --help, which every subcommand takes
# whether its help mentions them or not); and the subcommands of
# `vaultenv --help`.
for cmd in exec check get export migrate rotate learn policy; do
        "$VE_CLI" "$cmd" --help >"$VE_TMP/help" 2>&1 || true
        # long options anywhere in the text; short ones where a line starts
        # with "-x," (the option list)
        help=$( (grep -o -- '--[a-z][a-z-]*' "$VE_TMP/help"
                sed -n 's/^ *\(-[a-zA-Z]\),.*/\1/p' "$VE_TMP/help") | sort -u || true)
        mine=$(comp vaultenv "$cmd" - | sort -u)
        extra=$(comm -13 <(printf '%s\n' "$help" --help --quiet -h -q | sort -u) <(printf '%s\n' "$mine") | tr '\n' ' ')
        missing=$(comm -23 <(printf '%s\n' "$help" | grep . | sort -u) <(printf '%s\n' "$mine") | tr '\n' ' ')
        if [ -n "$help" ] && [ -z "$extra$missing" ]; then
                ok "$cmd: completion offers the options of its --help (${mine//$'\n'/ })"
        else
                fail "$cmd: --help lists [${help//$'\n'/ }]; completion lacks [$missing], has unknown [$extra]"
        fi
done
listed=$("$VE_CLI" --help | sed -n 's/^  \([a-z]\+\) .*/\1/p' | sort | tr '\n' ' ')
mine=$(comp vaultenv '' | grep -vx help | sort | tr '\n' ' ')
check "the subcommands are those of vaultenv --help ($listed)" test "$listed" = "$mine"
ve_done
