#!/usr/bin/env bash
# Runs the tests marked `unprivileged` as an account whose uid differs from its gid, like
# docker-stacks' jovyan (1000:100): as root (CI) uid == gid == 0 hides uid/gid mix-ups.
#
# Usage: tests/unprivileged.sh PYTHON [PYTEST ARGS...]   (from the repository's root)
#
# As root: creates the account if it is missing, lets it reach the interpreter (search
# permission on the parent directories only, never read) and runs pytest as it. Otherwise
# the tests run as the current user. Either way in a fresh base temporary directory owned
# by the account, removed afterwards. Exits with pytest's code; 5 (no tests) is a failure.
set -euo pipefail

python=$1
shift
account=${JOBS_TEST_ACCOUNT:-jobs-test}
account_gid=100
# Short paths: Unix socket paths (the jobs' launcher and notifications, under TMPDIR for a
# deep data_dir) hold at most 107 bytes.
base=$(mktemp -d /tmp/jju.XXXXXX)
trap 'rm -rf "$base"' EXIT
mkdir "$base/home" "$base/tmp"

as_account=()
if [ "$(id -u)" -eq 0 ]; then
    if ! getent passwd "$account" >/dev/null; then
        useradd -M -N -g "$account_gid" -s /usr/sbin/nologin "$account"
    fi
    # The interpreter and its prefixes (e.g. pyenv's, under root's home with mode 700),
    # this repository and the base temporary directory must be reachable by the account.
    mapfile -t prefixes < <("$python" -c 'import sys; print(sys.prefix); print(sys.base_prefix)')
    for target in "$(readlink -f "$python")" "${prefixes[@]}" "$PWD" "$base"; do
        directory=$(dirname "$target")
        while [ "$directory" != / ]; do
            if [ -z "$(find "$directory" -maxdepth 0 -perm -o=x)" ]; then
                echo "unprivileged tests: chmod o+x $directory (search only)"
                chmod o+x "$directory"
            fi
            directory=$(dirname "$directory")
        done
    done
    chown -R "$account:$account_gid" "$base"
    as_account=(setpriv --reuid="$account" --regid="$account_gid" --init-groups --)
    if ! "${as_account[@]}" test -r pyproject.toml -a -x tests; then
        echo "unprivileged tests: $account cannot read this repository ($PWD)" >&2
        exit 1
    fi
    user=$account
else
    user=$(id -un)
fi

echo "unprivileged tests: as $user, uid $("${as_account[@]}" id -u), gid $("${as_account[@]}" id -g)"
status=0
"${as_account[@]}" env -u XDG_RUNTIME_DIR \
    HOME="$base/home" TMPDIR="$base/tmp" USER="$user" LOGNAME="$user" \
    PYTHONDONTWRITEBYTECODE=1 HYPOTHESIS_STORAGE_DIRECTORY="$base/hypothesis" \
    "$python" -m pytest -m unprivileged -p no:cacheprovider --basetemp="$base/pytest" "$@" \
    || status=$?
if [ "$status" -eq 5 ]; then
    echo "unprivileged tests: pytest collected no tests" >&2
fi
exit "$status"
