#!/bin/bash
# Secrets at rest: the token, secret-id and mapping files are
# checked on the opened file (a symbolic link's target): refused, with one
# line naming the file and the reason and no request made, when writable by
# group or others or owned by another user who is not root; a credential
# file readable by group or others gives a warning only. The shim's own
# configuration names are never mapped. VAULTENV_FALLBACK restricts the
# fallback chain (none: fail closed).
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_auth_policy app-read 'secret/data/app/*'
printf 'A = secret/app/db#password\n' >"$VE_TMP/app.map"
chmod 600 "$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out
(umask 077 && ve_auth_get POST auth/token/create '{"policies":["app-read"],"ttl":"1h"}' auth.client_token \
        >"$VE_TMP/token")
root_token=$VAULT_TOKEN
unset VAULT_TOKEN
# A stranger: a uid that is neither ours nor root's.
stranger=$(( $(id -u) + 4242 ))
can_chown() { chown "$stranger" "$1" 2>/dev/null; }

# ---- the token file ----
cp "$VE_TMP/token" "$VE_TMP/sink"
chmod 600 "$VE_TMP/sink"
VAULT_TOKEN_FILE=$VE_TMP/sink ve_read "$out" A
check "token file 0600: read" ve_expect "$out" "A=fake-pw-1"
check "token file 0600: no warning" test ! -s "$VE_TMP/stderr"

chmod 644 "$VE_TMP/sink"
VAULTENV_LOG=warn VAULT_TOKEN_FILE=$VE_TMP/sink ve_read "$out" A
check "token file 0644 (a Kubernetes Secret): read" ve_expect "$out" "A=fake-pw-1"
check "token file 0644: a warning" stderr_has "$VE_TMP/sink (VAULT_TOKEN_FILE) is readable by group or others (mode 0644)"

for mode in 664 646 666 620; do
        chmod "$mode" "$VE_TMP/sink"
        ve_reset_counts
        VAULT_TOKEN_FILE=$VE_TMP/sink ve_read "$out" A
        check "token file 0$mode: refused (unset)" ve_expect "$out" "A unset"
        check "token file 0$mode: no request made" test "$(ve_count '')" = 0
        check "token file 0$mode: one line naming the file and the reason" \
                stderr_has "error: $VE_TMP/sink (VAULT_TOKEN_FILE) is writable by group or others (mode 0$mode); refusing to use it"
        check "token file 0$mode: said once" test "$(grep -c "error: $VE_TMP/sink (VAULT_TOKEN_FILE)" "$VE_TMP/stderr")" = 1
        check "token file 0$mode: the token is not shown" stderr_lacks "$(cat "$VE_TMP/token")"
done

# A symbolic link (Kubernetes mounts Secrets through ..data links): followed,
# the checks apply to the target.
mkdir -p "$VE_TMP/k8s/..2026_11_27"
cp "$VE_TMP/token" "$VE_TMP/k8s/..2026_11_27/token"
ln -s ..2026_11_27 "$VE_TMP/k8s/..data"
ln -s ..data/token "$VE_TMP/k8s/token"
chmod 644 "$VE_TMP/k8s/..2026_11_27/token"
VAULT_TOKEN_FILE=$VE_TMP/k8s/token ve_read "$out" A
check "token file through symbolic links (target 0644): read" ve_expect "$out" "A=fake-pw-1"
chmod 666 "$VE_TMP/k8s/..2026_11_27/token"
ve_reset_counts
VAULT_TOKEN_FILE=$VE_TMP/k8s/token ve_read "$out" A
check "token file through symbolic links (target 0666): refused" ve_expect "$out" "A unset"
check "token file through symbolic links (target 0666): no request made" test "$(ve_count '')" = 0
check "token file through symbolic links: the target's mode is named" stderr_has "is writable by group or others (mode 0666)"

cp "$VE_TMP/token" "$VE_TMP/sink"
chmod 600 "$VE_TMP/sink"
if can_chown "$VE_TMP/sink"; then
        ve_reset_counts
        VAULT_TOKEN_FILE=$VE_TMP/sink ve_read "$out" A
        check "token file of another user: refused" ve_expect "$out" "A unset"
        check "token file of another user: no request made" test "$(ve_count '')" = 0
        check "token file of another user: one line naming the owner" \
                stderr_has "$VE_TMP/sink (VAULT_TOKEN_FILE) is owned by uid $stranger, neither this user"
        chown 0 "$VE_TMP/sink"
        VAULT_TOKEN_FILE=$VE_TMP/sink ve_read "$out" A
        check "token file owned by root: read" ve_expect "$out" "A=fake-pw-1"
else
        echo "ok - # SKIP token file of another user: cannot chown (not root)"
fi

# The default ~/.vault-token likewise.
cp "$VE_TMP/token" "$HOME/.vault-token"
chmod 666 "$HOME/.vault-token"
ve_reset_counts
ve_read "$out" A
check "~/.vault-token 0666: refused" ve_expect "$out" "A unset"
check "~/.vault-token 0666: no request made" test "$(ve_count '')" = 0
check "~/.vault-token 0666: named" stderr_has "$HOME/.vault-token (~/.vault-token) is writable by group or others"
rm -f "$HOME/.vault-token"

# ---- the secret-id file (AppRole) ----
VAULT_TOKEN=$root_token
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/web '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":0}'
(umask 077
 ve_auth_get GET auth/approle/role/web/role-id '' data.role_id >"$VE_TMP/role-id"
 ve_auth_get POST auth/approle/role/web/secret-id '' data.secret_id >"$VE_TMP/secret-id")
unset VAULT_TOKEN
chmod 640 "$VE_TMP/secret-id"
VAULTENV_LOG=warn VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/secret-id ve_read "$out" A
check "secret-id file 0640 (a Vault Agent sink): read" ve_expect "$out" "A=fake-pw-1"
check "secret-id file 0640: a warning" \
        stderr_has "$VE_TMP/secret-id (VAULT_SECRET_ID_FILE) is readable by group or others (mode 0640)"
chmod 660 "$VE_TMP/secret-id"
ve_reset_counts
VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/secret-id ve_read "$out" A
check "secret-id file 0660: refused" ve_expect "$out" "A unset"
check "secret-id file 0660: no login, no request" test "$(ve_count '')" = 0
check "secret-id file 0660: one line naming the file and the reason" \
        stderr_has "$VE_TMP/secret-id (VAULT_SECRET_ID_FILE) is writable by group or others (mode 0660); refusing to use it"
check "secret-id file 0660: the secret id is not shown" stderr_lacks "$(cat "$VE_TMP/secret-id")"
chmod 600 "$VE_TMP/secret-id"

# ---- the mapping file ----
export VAULT_TOKEN_FILE=$VE_TMP/token
chmod 600 "$VE_TMP/token"
chmod 664 "$VE_TMP/app.map"
ve_reset_counts
ve_read "$out" A
check "mapping file 0664: refused (nothing mapped)" ve_expect "$out" "A unset"
check "mapping file 0664: no request made" test "$(ve_count '')" = 0
check "mapping file 0664: one line naming the file and the reason" \
        stderr_has "$VE_TMP/app.map: is writable by group or others (mode 0664); refusing the mapping file; no variable is mapped"
check "mapping file 0664: one line" test "$(wc -l <"$VE_TMP/stderr")" = 1
ln -s app.map "$VE_TMP/link.map"
VAULTENV_MAP=$VE_TMP/link.map ve_read "$out" A
check "mapping file through a link (target 0664): refused" ve_expect "$out" "A unset"
chmod 644 "$VE_TMP/app.map"
VAULTENV_MAP=$VE_TMP/link.map ve_read "$out" A
check "mapping file through a link (target 0644, a ConfigMap): read" ve_expect "$out" "A=fake-pw-1"
if can_chown "$VE_TMP/app.map"; then
        ve_read "$out" A
        check "mapping file of another user: refused" ve_expect "$out" "A unset"
        check "mapping file of another user: named" stderr_has "$VE_TMP/app.map: is owned by uid $stranger"
        chown 0 "$VE_TMP/app.map"
else
        echo "ok - # SKIP mapping file of another user: cannot chown (not root)"
fi
"$VE_CLI" check >/dev/null 2>"$VE_TMP/cli.err" || true
chmod 666 "$VE_TMP/app.map"
set +e
"$VE_CLI" check >/dev/null 2>"$VE_TMP/cli.err"
status=$?
set -e
check "vaultenv check: a world-writable mapping file fails" test "$status" != 0
check "vaultenv check: names the reason" grep -qF "is writable by group or others (mode 0666)" "$VE_TMP/cli.err"
chmod 644 "$VE_TMP/app.map"

# ---- configuration names are never mapped ----
printf 'A = secret/app/db#password\nVAULT_TOKEN = secret/app/db#password\n' >"$VE_TMP/bad.map"
VAULTENV_MAP=$VE_TMP/bad.map ve_read "$out" A VAULT_TOKEN
check "VAULT_TOKEN in a mapping: the file is refused, nothing mapped" ve_expect "$out" "A unset" "VAULT_TOKEN unset"
check "VAULT_TOKEN in a mapping: FILE:LINE:COL" \
        stderr_has "$VE_TMP/bad.map:2:1: VAULT_TOKEN is one of vaultenv's own configuration names"
printf 'V* = secret/app/db#*\n' >"$VE_TMP/bad.map"
VAULTENV_MAP=$VE_TMP/bad.map ve_read "$out" VAULT_SECRET_ID
check "a bulk rule covering VAULT_*: refused" stderr_has "$VE_TMP/bad.map:1:1: bulk mapping V* covers"

# ---- VAULTENV_FALLBACK ----
mkdir -p "$VE_TMP/secrets"
printf 'fake-file-b\n' >"$VE_TMP/secrets/B"
cat >"$VE_TMP/fb.map" <<'MAP'
A = secret/app/db#password
B = secret/down/b
C = secret/down/c   default=fake-default-c
D = secret/down/d
R = secret/down/r   required
MAP
export VAULTENV_MAP=$VE_TMP/fb.map VAULTENV_SECRETS_DIR=$VE_TMP/secrets
export D=fake-env-d R=fake-env-r
ve_read "$out" A B C D R
check "VAULTENV_FALLBACK unset: the whole chain" ve_expect "$out" "A=fake-pw-1" "B=fake-file-b" \
        "C=fake-default-c" "D=fake-env-d" "R=fake-env-r"
VAULTENV_FALLBACK=all ve_read "$out" A B C D
check "VAULTENV_FALLBACK=all: the whole chain" ve_expect "$out" "A=fake-pw-1" "B=fake-file-b" \
        "C=fake-default-c" "D=fake-env-d"
VAULTENV_FALLBACK=none ve_read "$out" A B C D
check "VAULTENV_FALLBACK=none: Vault or nothing" ve_expect "$out" "A=fake-pw-1" "B unset" "C unset" "D unset"
set +e
VAULTENV_FALLBACK=none ve_read "$out" R
status=$?
set -e
check "VAULTENV_FALLBACK=none: a required name is missing (exit 78) despite R in the environment" test "$status" = 78
check "VAULTENV_FALLBACK=none: one line naming it" stderr_has "vaultenv: R: required variable is missing"
VAULTENV_FALLBACK=env,default ve_read "$out" B C D
check "VAULTENV_FALLBACK=env,default: no file" ve_expect "$out" "B unset" "C=fake-default-c" "D=fake-env-d"
VAULTENV_FALLBACK=file ve_read "$out" B C D
check "VAULTENV_FALLBACK=file: files only" ve_expect "$out" "B=fake-file-b" "C unset" "D unset"
VAULTENV_FALLBACK=nnoe ve_read "$out" A B C D
check "VAULTENV_FALLBACK=nnoe: taken as none (fail closed)" ve_expect "$out" "A=fake-pw-1" "B unset" "C unset" "D unset"
check "VAULTENV_FALLBACK=nnoe: one line naming the variable and the reason" \
        stderr_has "error: VAULTENV_FALLBACK: invalid value \"nnoe\""

ve_done
