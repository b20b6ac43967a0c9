#!/bin/bash
# doc/examples/, exercised as far as this machine allows (no Docker, no
# Kubernetes, no running systemd): the systemd unit and drop-ins pass
# `systemd-analyze verify` and their command lines run a program that gets
# its secrets; the Compose file's structure holds together and its app
# service's environment, run under the shim, gets values from Vault and from
# its `_FILE` secrets; the Kubernetes pod's agent socket and the app's
# VAULT_AGENT_ADDR meet in one shared volume, and the app's command reads
# through scripts/vault-dev's agent socket; the Dockerfile's build stage runs
# scripts/test's package build with debian/control's build dependencies, its
# runtime stage apt-get installs the .deb, and an installed vaultenv's
# entrypoint serves the shipped app.map.
. "$(dirname "$0")/../lib.sh"
: "${VE_SOURCE_ROOT:?}" "${VE_BUILD_ROOT:?}" "${VE_CLI:?}"
# Debian's python3, whose python3-yaml and python3-pyhcl (a dependency of
# python3-hvac) scripts/deps installs.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
unset VAULT_AGENT_ADDR
ex=$VE_SOURCE_ROOT/doc/examples
mkdir -p "$VE_TMP/home"
export HOME=$VE_TMP/home

# A stand-in for the examples' program: records its arguments (one per
# line) in $VE_TMP/fake.args, then execs readenv for the names in
# FAKE_NAMES, writing to FAKE_OUT. It is a shell script, so the shim's
# exec wrappers pass LD_PRELOAD on to readenv as they would to any child.
fake=$VE_TMP/fakeapp
cat >"$fake" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$VE_TMP/fake.args"
# shellcheck disable=SC2086
exec "$VE_READENV" "\$FAKE_OUT" \$FAKE_NAMES
EOF
chmod 755 "$fake"

ve_vault_start
token=$VE_ROOT_TOKEN
ve_kv2_put secret/app/db '{"password":"fake-ex-db-pw","user":"fake-ex-user","url":"postgresql://fake-ex-url"}'
ve_kv2_put secret/app/smtp '{"password":"fake-ex-smtp"}'
ve_kv2_put secret/app/reports '{"token":"fake-ex-reports"}'
ve_kv2_put secret/app/api '{"token":"fake-ex-api"}'
ve_kv2_put secret/api_keys/anthropic '{"value":"fake-ex-anthropic"}'
(umask 077 && printf '%s\n' "$token" >"$VE_TMP/vault-token")
out=$VE_TMP/out

# ---------------------------------------------------------------- systemd
sd=$ex/systemd
if ! command -v systemd-analyze >/dev/null; then
        fail "systemd-analyze not found (scripts/deps installs the systemd package)"
else
        # verify DIR: the unit in DIR with the drop-in DIR/app.service.d/; the
        # examples' vaultenv path is replaced by this build's.
        unit_dir() { # DIR DROPIN-SOURCE
                rm -rf "$1"
                mkdir -p "$1/app.service.d"
                cp "$sd/app.service" "$1/"
                sed "s#/usr/local/bin/vaultenv#$VE_CLI#" "$2" >"$1/app.service.d/vaultenv.conf"
        }
        sd_verify() { systemd-analyze verify "$1/app.service" >"$VE_TMP/verify.log" 2>&1; }
        unit_dir "$VE_TMP/sd1" "$sd/app.service.d/vaultenv.conf"
        check "systemd: app.service + vaultenv.conf pass systemd-analyze verify" sd_verify "$VE_TMP/sd1"
        check "systemd: verify has nothing to say about them" test ! -s "$VE_TMP/verify.log"
        [ -s "$VE_TMP/verify.log" ] && sed 's/^/# /' "$VE_TMP/verify.log"
        # Controls: the drop-in is really read, and its ExecStart= reset matters.
        sed -i "s#^ExecStart=$VE_CLI#ExecStart=/nonexistent/vaultenv#" "$VE_TMP/sd1/app.service.d/vaultenv.conf"
        check "systemd (control): verify reads the drop-in (a missing launcher fails it)" bash -c "! systemd-analyze verify '$VE_TMP/sd1/app.service' >/dev/null 2>&1"
        unit_dir "$VE_TMP/sd2" "$sd/app.service.d/vaultenv.conf"
        sed -i '/^ExecStart=$/d' "$VE_TMP/sd2/app.service.d/vaultenv.conf"
        check "systemd (control): without the ExecStart= reset verify fails" bash -c "! systemd-analyze verify '$VE_TMP/sd2/app.service' >/dev/null 2>&1"
        unit_dir "$VE_TMP/sd3" "$sd/vaultenv-preload.conf"
        check "systemd: app.service + vaultenv-preload.conf pass verify" sd_verify "$VE_TMP/sd3"
        check "systemd: verify has nothing to say about the preload drop-in" test ! -s "$VE_TMP/verify.log"
fi

# The preload drop-in's LD_PRELOAD is where `meson install` puts the shim
# with the default prefix (checked when this build uses that prefix).
installed_shim=$(meson introspect "$VE_BUILD_ROOT" --installed |
        "$py" -c 'import json,sys; print(next((v for k,v in json.load(sys.stdin).items() if k.endswith("/libvaultenv.so")), ""))' ||
        true)
preload=$(sed -n 's/^Environment=LD_PRELOAD=//p' "$sd/vaultenv-preload.conf")
case $installed_shim in
"") fail "systemd: meson introspect --installed names no libvaultenv.so" ;;
/usr/local/*) check "systemd: LD_PRELOAD names the installed shim ($installed_shim)" test "$preload" = "$installed_shim" ;;
*) ok "systemd: LD_PRELOAD path not compared (this build's prefix is not /usr/local)" ;;
esac

# sd_run UNIT-FILE DROPIN: runs the effective ExecStart= (the drop-in's last
# one, else the unit's) with the Environment= of both, as systemd would (a
# clean environment), after moving the examples' paths to this machine's.
sd_run() {
        "$py" - "$@" "$VE_TMP/sd.cmd" <<'PY'
import shlex, sys
unit, dropin, outfile = sys.argv[1:4]
env, execs = [], []
for path in (unit, dropin):
    for line in open(path):
        line = line.strip()
        if line.startswith("Environment="):
            env += shlex.split(line[len("Environment="):])
        elif line.startswith("ExecStart="):
            rest = line[len("ExecStart="):]
            execs = [] if rest == "" else execs + [rest]
assert len(execs) == 1, "exactly one effective ExecStart= (%d)" % len(execs)
argv = shlex.split(execs[0])
with open(outfile, "w") as f:
    for e in env:
        f.write("ENV\t" + e + "\n")
    for a in argv:
        f.write("ARG\t" + a + "\n")
PY
        local args=() envs=(PATH=/usr/bin:/bin "HOME=$HOME" "FAKE_OUT=$out" "FAKE_NAMES=$FAKE_NAMES") k v
        while IFS=$'\t' read -r k v; do
                case $k in
                ENV)
                        case $v in
                        VAULT_ADDR=*) v=VAULT_ADDR=$VAULT_ADDR ;;
                        VAULTENV_MAP=*) v=VAULTENV_MAP=$VE_TMP/sd.map ;;
                        VAULT_TOKEN_FILE=*) v=VAULT_TOKEN_FILE=$VE_TMP/vault-token ;;
                        LD_PRELOAD=*) v=LD_PRELOAD=$VE_PRELOAD ;;
                        esac
                        envs+=("$v") ;;
                ARG)
                        case $v in
                        /usr/local/bin/vaultenv) v=$VE_CLI ;;
                        /usr/bin/psql) v=$fake ;;
                        esac
                        args+=("$v") ;;
                esac
        done <"$VE_TMP/sd.cmd"
        env -i "${envs[@]}" "${args[@]}" 2>"$VE_TMP/stderr"
}
printf 'PGPASSWORD = secret/app/db#password required\nPGUSER = secret/app/db#user\n' >"$VE_TMP/sd.map"
FAKE_NAMES="PGPASSWORD PGUSER PGPASSFILE"
psql_args=$(printf '%s\n' -X -w -h db.example.com -d app -c "select current_user")
rm -f "$out"
check "systemd: the drop-in's ExecStart (vaultenv exec) runs" sd_run "$sd/app.service" "$sd/app.service.d/vaultenv.conf"
check "systemd: the program got its secrets from Vault (token from VAULT_TOKEN_FILE)" \
        ve_expect "$out" "PGPASSWORD=fake-ex-db-pw" "PGUSER=fake-ex-user" "PGPASSFILE=/nonexistent"
check "systemd: the program's arguments arrived intact" test "$(cat "$VE_TMP/fake.args")" = "$psql_args"
rm -f "$out"
check "systemd: the unit's own ExecStart with the preload drop-in runs" sd_run "$sd/app.service" "$sd/vaultenv-preload.conf"
check "systemd: with Environment=LD_PRELOAD the program got its secrets" \
        ve_expect "$out" "PGPASSWORD=fake-ex-db-pw" "PGUSER=fake-ex-user" "PGPASSFILE=/nonexistent"
check "systemd: and its arguments" test "$(cat "$VE_TMP/fake.args")" = "$psql_args"

# ---------------------------------------------------------------- Compose
# compose.py DIR ADDR: checks the structure (asserts), then writes DIR/env:
# the app service's environment with /run/secrets/ moved to DIR/run/secrets/,
# the mapping config to its file in doc/examples/, ${VAULT_ADDR:-...} to ADDR.
cat >"$VE_TMP/compose.py" <<'PY'
import os, re, sys, yaml
src, d, addr = sys.argv[1], sys.argv[2], sys.argv[3]
exdir = os.path.join(src, "doc", "examples")
c = yaml.safe_load(open(os.path.join(exdir, "compose.yaml")))
app = c["services"]["app"]
b = app["build"]
assert os.path.realpath(os.path.join(exdir, b["context"])) == os.path.realpath(src), "build context is the source tree"
assert b["dockerfile"] == "doc/examples/Dockerfile", "build uses the example Dockerfile"
env = app["environment"]
assert isinstance(env, dict), "environment is a mapping"
secrets = app["secrets"]
for s in secrets:
    assert s in c["secrets"] and "file" in c["secrets"][s], "secret %s declared with a file" % s
files = {k: v for k, v in env.items() if k.endswith("_FILE")}
assert files, "some _FILE variables"
for k, v in files.items():
    m = re.fullmatch(r"/run/secrets/([a-z_]+)", v)
    assert m and m.group(1) in secrets, "%s points at a secret of the service" % k
refs = [k for k, v in env.items() if str(v).startswith("vault:")]
assert len(refs) >= 2, "vault: references"
(cfg,) = app["configs"]
assert cfg["target"] == env["VAULTENV_MAP"], "the mapping config is mounted where VAULTENV_MAP says"
mapfile = os.path.join(exdir, c["configs"][cfg["source"]]["file"])
assert os.path.isfile(mapfile), "the mapping config's file exists"
with open(os.path.join(d, "env"), "w") as f:
    for k, v in env.items():
        v = str(v)
        v = re.sub(r"\$\{VAULT_ADDR:-[^}]*\}", addr, v)
        v = v.replace("/run/secrets/", d + "/run/secrets/")
        if k == "VAULTENV_MAP":
            v = mapfile
        assert "\n" not in v
        f.write("%s=%s\n" % (k, v))
print(" ".join(secrets))
PY
cdir=$VE_TMP/compose
mkdir -p "$cdir/run/secrets"
: >"$cdir/env"
if secrets=$("$py" "$VE_TMP/compose.py" "$VE_SOURCE_ROOT" "$cdir" "$VAULT_ADDR" 2>"$VE_TMP/compose.err"); then
        ok "compose: structure (build, secrets, _FILE paths, vault: references, mapping config)"
else
        fail "compose: structure: $(tail -n 1 "$VE_TMP/compose.err")"
fi
check "compose: the service mounts vault_token, pgpassword, webhook_secret" test "$secrets" = "vault_token pgpassword webhook_secret"
(
        umask 077
        printf '%s\n' "$token" >"$cdir/run/secrets/vault_token"
        printf 'fake-ex-pg-file\n' >"$cdir/run/secrets/pgpassword"
        printf 'fake-ex-webhook-file\n' >"$cdir/run/secrets/webhook_secret"
)
mapfile -t cenv <"$cdir/env"
names=(PGPASSWORD SMTP_PASSWORD REPORTS_API_TOKEN WEBHOOK_SECRET PGHOST ANTHROPIC_API_KEY)
# As the container runs it: ENTRYPOINT vaultenv exec, the service's
# environment, Compose's secrets in (here) VAULTENV_SECRETS_DIR.
env -i PATH=/usr/bin:/bin "HOME=$HOME" "VAULTENV_SECRETS_DIR=$cdir/run/secrets" "${cenv[@]}" \
        "$VE_CLI" exec -- "$VE_READENV" "$out" "${names[@]}" 2>"$VE_TMP/stderr" || true
check "compose: Vault, vault: references and the _FILE fallback side by side" ve_expect "$out" \
        "PGPASSWORD=fake-ex-db-pw" "SMTP_PASSWORD=fake-ex-smtp" "REPORTS_API_TOKEN=fake-ex-reports" \
        "WEBHOOK_SECRET=fake-ex-webhook-file" "PGHOST=db" "ANTHROPIC_API_KEY=fake-ex-anthropic"
# Vault unreachable: the Compose secrets carry on; a reference without one is unset.
env -i PATH=/usr/bin:/bin "HOME=$HOME" "VAULTENV_SECRETS_DIR=$cdir/run/secrets" "${cenv[@]}" \
        VAULT_ADDR=http://127.0.0.1:1 VAULT_MAX_RETRIES=0 LD_PRELOAD="$VE_PRELOAD" \
        "$VE_READENV" "$out" "${names[@]}" 2>"$VE_TMP/stderr" || true
check "compose: without Vault, the _FILE secrets are served" ve_expect "$out" \
        "PGPASSWORD=fake-ex-pg-file" "SMTP_PASSWORD unset" "REPORTS_API_TOKEN unset" \
        "WEBHOOK_SECRET=fake-ex-webhook-file" "PGHOST=db" "ANTHROPIC_API_KEY unset"

# ---------------------------------------------------------------- Kubernetes
# k8s.py DIR: checks the pod (asserts) and writes DIR/map (the mapped
# ConfigMap's file), DIR/env (the app's env, VAULTENV_MAP and the socket
# moved under DIR), DIR/argv (command + args) and prints the socket path
# as the app sees it, moved under DIR.
cat >"$VE_TMP/k8s.py" <<'PY'
import os, re, sys, yaml
src, d = sys.argv[1], sys.argv[2]
docs = list(yaml.safe_load_all(open(os.path.join(src, "doc", "examples", "k8s-pod.yaml"))))
by = {(x["kind"], x["metadata"]["name"]): x for x in docs}
(pod,) = [x for x in docs if x["kind"] == "Pod"]
spec = pod["spec"]
assert ("ServiceAccount", spec["serviceAccountName"]) in by, "the service account is defined"
vols = {v["name"]: v for v in spec["volumes"]}
(agent,) = [c for c in spec["initContainers"] if c["image"].startswith("hashicorp/vault:")]
assert agent.get("restartPolicy") == "Always", "the agent is a native sidecar"
(cfgarg,) = [a for a in agent["args"] if a.startswith("-config=")]
assert agent["args"][0] == "agent", "the container runs vault agent"
def mount_of(c, path):
    """(volume, path inside the volume) of the mount holding path."""
    best = None
    for m in c["volumeMounts"]:
        mp = m["mountPath"].rstrip("/") + "/"
        if path.startswith(mp) and (best is None or len(mp) > len(best[1])):
            best = (m["name"], mp)
    assert best, "%s is on a volume of %s" % (path, c["name"])
    return vols[best[0]], path[len(best[1]):]
def configmap_file(c, path):
    v, rel = mount_of(c, path)
    return by[("ConfigMap", v["configMap"]["name"])]["data"][rel]
# The agent's configuration, parsed as HCL (pyhcl, which python3-hvac
# brings along).
import hcl
conf = hcl.loads(configmap_file(agent, cfgarg[len("-config="):]))
listener = conf["listener"]["unix"]
sock = listener["address"]
assert listener.get("tls_disable") is True, "the unix listener is plain HTTP"
k8s = conf["auto_auth"]["method"]["kubernetes"]
assert k8s["config"]["role"] == "app", "auto_auth with the kubernetes method and a role"
assert conf["api_proxy"]["use_auto_auth_token"] in (True, "force"), "api_proxy uses the auto-auth token"
# api_proxy is Vault Agent 1.14's; the image must be that recent, and the
# comment shows older agents the same setting in a cache stanza, which must
# parse as HCL too.
m = re.fullmatch(r"hashicorp/vault:(\d+)\.(\d+)(\.\d+)?", agent["image"])
assert m and (int(m.group(1)), int(m.group(2))) >= (1, 14), "the agent image is Vault 1.14 or later (api_proxy)"
agent_hcl = configmap_file(agent, cfgarg[len("-config="):])
commented = "\n".join(l.strip()[1:] for l in agent_hcl.splitlines() if l.strip().startswith("#"))
old_form = re.search(r"^\s*cache \{.*?^\s*\}", commented, re.S | re.M)
assert old_form, "a commented cache { ... } stanza for agents before 1.14"
old_conf = hcl.loads(old_form.group(0))
assert old_conf["cache"]["use_auto_auth_token"] is True, "the older form: cache { use_auto_auth_token = true }"
assert conf["vault"]["address"].startswith("https://"), "the agent talks to Vault over TLS"
svol, srel = mount_of(agent, sock)
assert "emptyDir" in svol, "the socket is on an emptyDir"
(app,) = spec["containers"]
env = {e["name"]: e["value"] for e in app["env"]}
addr = env["VAULT_AGENT_ADDR"]
assert addr.startswith("unix://"), "VAULT_AGENT_ADDR is a unix:// address"
avol, arel = mount_of(app, addr[len("unix://"):])
assert avol is svol and arel == srel, "the app's VAULT_AGENT_ADDR is the agent's socket in the shared volume"
assert "VAULT_TOKEN" not in env and "VAULT_ADDR" not in env, "the app holds no token and no server address"
assert app["command"][:3] == ["vaultenv", "exec", "--"], "the app runs under vaultenv exec"
open(os.path.join(d, "map"), "w").write(configmap_file(app, env["VAULTENV_MAP"]))
local_sock = d + addr[len("unix://"):]
with open(os.path.join(d, "env"), "w") as f:
    for k, v in env.items():
        if k == "VAULTENV_MAP":
            v = os.path.join(d, "map")
        if k == "VAULT_AGENT_ADDR":
            v = "unix://" + local_sock
        f.write("%s=%s\n" % (k, v))
open(os.path.join(d, "argv"), "w").write("\n".join(app["command"] + app["args"]) + "\n")
print(local_sock)
PY
kdir=$VE_TMP/k8s
mkdir -p "$kdir"
: >"$kdir/env"; : >"$kdir/argv"
if sock=$("$py" "$VE_TMP/k8s.py" "$VE_SOURCE_ROOT" "$kdir" 2>"$VE_TMP/k8s.err"); then
        ok "k8s: pod structure (native sidecar agent, kubernetes auto-auth, api_proxy, shared socket)"
else
        fail "k8s: pod structure: $(tail -n 1 "$VE_TMP/k8s.err")"
fi
# The agent's side: scripts/vault-dev's agent socket at the app's path, with
# an auto-auth token limited to secret/data/app/* (standing in for the
# kubernetes login's token).
agent_token="fake-k8s-agent-$(ve_random)"
ve_vault_stop
mkdir -p "$(dirname "${sock:-$kdir/none}")"
ve_vault_start --unix-socket "${sock:-$kdir/none.sock}" --agent-token "$agent_token"
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST auth/token/create "{\"id\":\"$agent_token\",\"policies\":[\"app-read\"]}"
ve_kv2_put secret/app/db '{"password":"fake-k8s-pw","user":"fake-k8s-user"}'
ve_kv2_put secret/app/api '{"token":"fake-k8s-api"}'
mapfile -t kenv <"$kdir/env"
mapfile -t kargv <"$kdir/argv"
# The app container's command with psql replaced by the fake program.
[ "${kargv[3]:-}" = psql ] && kargv[3]=$fake
kargv[0]=$VE_CLI
ve_reset_counts
env -i PATH=/usr/bin:/bin "HOME=$HOME" "${kenv[@]}" FAKE_OUT="$out" FAKE_NAMES="PGPASSWORD PGUSER API_TOKEN PGHOST" \
        "${kargv[@]}" 2>"$VE_TMP/stderr" || true
check "k8s: the app's command read its secrets through the agent socket" ve_expect "$out" \
        "PGPASSWORD=fake-k8s-pw" "PGUSER=fake-k8s-user" "API_TOKEN=fake-k8s-api" "PGHOST=db"
check "k8s: the app sent no token (the agent's was used)" test "$(ve_transport_stat with_token)" = 0
check "k8s: one read for the path of PGPASSWORD and PGUSER" test "$(ve_count 'GET /v1/secret/data/app/db')" = 1

# ---------------------------------------------------------------- Dockerfile
# docker.py: parses the Dockerfile (continuations, comments), checks it
# (asserts) and prints the build stage's dpkg-buildpackage RUN command, the
# build stage's apt packages and the runtime stage's.
cat >"$VE_TMP/docker.py" <<'PY'
import json, os, re, sys
src = sys.argv[1]
lines, cur = [], ""
for raw in open(os.path.join(src, "doc", "examples", "Dockerfile")):
    s = raw.rstrip("\n")
    if not cur and (s.strip() == "" or s.lstrip().startswith("#")):
        continue
    if s.lstrip().startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    cur += s
    lines.append(cur.strip())
    cur = ""
ins = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
stages = [i for i, (k, _) in enumerate(ins) if k == "FROM"]
assert len(stages) == 2, "two stages"
assert re.fullmatch(r"debian:12(-slim)? AS build", ins[stages[0]][1], re.I), "build stage: Debian 12, named build"
assert re.fullmatch(r"debian:12(-slim)?", ins[stages[1]][1]), "runtime stage: Debian 12"
build, run = ins[stages[0]:stages[1]], ins[stages[1]:]
entry = [v for k, v in run if k == "ENTRYPOINT"]
assert len(entry) == 1, "one ENTRYPOINT"
ep = json.loads(entry[0])
assert isinstance(ep, list) and ep[:2] == ["vaultenv", "exec"], "ENTRYPOINT is exec form [\"vaultenv\",\"exec\",...]"
cmd = [v for k, v in run if k == "CMD"]
assert len(cmd) == 1 and isinstance(json.loads(cmd[0]), list), "CMD is exec form"
for k, v in run:
    if k == "COPY" and not v.startswith("--from"):
        assert os.path.exists(os.path.join(src, v.split()[0])), "COPY source %s exists" % v.split()[0]
(pkgbuild,) = [v for k, v in build if k == "RUN" and "dpkg-buildpackage" in v]
assert re.search(r"mv \.\./vaultenv_\*\.deb /out/", pkgbuild), "the build stage moves the .deb to /out/"
# The runtime stage installs the build stage's .deb with apt-get (which
# brings its Depends), from /out bind-mounted for that step.
(inst,) = [v for k, v in run if k == "RUN" and "vaultenv_" in v]
m = re.match(r"--mount=type=bind,from=build,source=/out,target=(\S+) ", inst)
assert m, "the runtime stage bind-mounts the build stage's /out"
assert re.search(r"apt-get install [^&]*%s/vaultenv_\*\.deb" % re.escape(m.group(1)), inst), \
    "the runtime stage apt-get installs the mounted vaultenv_*.deb"
def apt(stage):
    pk = []
    for k, v in stage:
        m = re.search(r"apt-get install ([^&]*)", v) if k == "RUN" else None
        if m:
            pk += [w for w in m.group(1).split() if not w.startswith("-")]
    return pk
print(pkgbuild)
print(" ".join(apt(build)))
print(" ".join(apt(run)))
PY
if "$py" "$VE_TMP/docker.py" "$VE_SOURCE_ROOT" >"$VE_TMP/docker.out" 2>"$VE_TMP/docker.err"; then
        ok "Dockerfile: two Debian 12 stages; the first builds the .deb, the second apt-get installs it; exec-form ENTRYPOINT [\"vaultenv\",\"exec\",...]"
else
        fail "Dockerfile: $(tail -n 1 "$VE_TMP/docker.err")"
fi
di=$ex/Dockerfile.dockerignore
check "Dockerfile: its .dockerignore keeps build trees, .git and .env files out of the context" \
        bash -c "grep -qx 'build\*' '$di' && grep -qx '.git' '$di' && grep -qx '\*\*/.env' '$di'"
pkgbuild=$(sed -n 1p "$VE_TMP/docker.out")
build_pkgs=" $(sed -n 2p "$VE_TMP/docker.out") "
# The package build as the build stage runs it is scripts/test's (which
# package.sh checks): the same DEB_BUILD_OPTIONS and dpkg-buildpackage
# arguments.
pkgcmd() { grep -oE 'DEB_BUILD_OPTIONS="[^"]*" dpkg-buildpackage( -[a-z]+)+' "$@" | head -n 1; }
docker_cmd=$(pkgcmd <<<"$pkgbuild")
test_cmd=$(pkgcmd "$VE_SOURCE_ROOT/scripts/test")
check "Dockerfile: the build stage runs scripts/test's package build (${docker_cmd:-none})" \
        bash -c "[ -n '$docker_cmd' ] && [ '$docker_cmd' = '$test_cmd' ]"
# The build stage installs debian/control's Build-Depends (debhelper for
# debhelper-compat) and build-essential, which dpkg-buildpackage requires;
# scripts/deps installs them too.
control_deps=$("$py" - "$VE_SOURCE_ROOT/debian/control" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^Build-Depends:(.*?)(?=^\S)", text, re.M | re.S)
deps = [re.sub(r"\s*[\(\[<].*", "", d).strip() for d in m.group(1).split(",")]
print(" ".join(sorted({"debhelper" if d == "debhelper-compat" else d for d in deps if d})))
PY
)
missing=""
for p in $control_deps build-essential; do
        grep -q "\b$p\b" "$VE_SOURCE_ROOT/scripts/deps" || missing="$missing $p(not in deps)"
        case $build_pkgs in *" $p "*) ;; *) missing="$missing $p" ;; esac
done
check "Dockerfile: the build stage installs debian/control's build dependencies (${control_deps:-none})${missing:+ (missing:$missing)}" \
        bash -c "[ -n '$control_deps' ] && [ -z '$missing' ]"
# ENTRYPOINT + a program, from an installed tree (what the image's package
# holds: tests/integration/project/package.sh checks the package's own), with
# the shipped app.map (the image's /etc/vaultenv/vaultenv.map).
meson install -C "$VE_BUILD_ROOT" --no-rebuild --quiet --destdir "$VE_TMP/dout" >"$VE_TMP/dinstall.log" 2>&1 ||
        { sed 's/^/# /' "$VE_TMP/dinstall.log"; fail "meson install"; }
dcli=$(find "$VE_TMP/dout" -path '*/bin/vaultenv' -type f | head -n 1)
dshim=$(find "$VE_TMP/dout" -name libvaultenv.so -type f | head -n 1)
ve_vault_stop
ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-docker-pw","user":"fake-docker-user"}'
rm -f "$out"
# (ASAN_OPTIONS: in an ASan build readenv is instrumented and the installed
# shim, also instrumented, comes after the runtime `vaultenv exec` puts
# first; empty otherwise.)
env -i PATH=/usr/bin:/bin "HOME=$HOME" VAULT_ADDR="$VAULT_ADDR" VAULT_TOKEN="$VAULT_TOKEN" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}" VAULTENV_MAP="$ex/app.map" "${dcli:-/nonexistent}" exec -- "$VE_READENV" "$out" PGPASSWORD PGUSER LD_PRELOAD \
        2>"$VE_TMP/stderr" || true
check "Dockerfile: its ENTRYPOINT (the installed vaultenv exec) serves app.map's secrets" \
        ve_expect "$out" "PGPASSWORD=fake-docker-pw" "PGUSER=fake-docker-user" "LD_PRELOAD=$VE_PRELOAD_PREFIX$dshim"
ve_done
