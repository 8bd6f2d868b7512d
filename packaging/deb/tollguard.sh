#!/bin/sh
# /usr/bin/tollguard: runs the app under /usr/lib/tollguard with the system's Node.js. The
# path is found from this file, so an unpacked copy (dpkg-deb -x) runs the same way.
here=$(dirname "$(readlink -f "$0")")
exec /usr/bin/node "$here/../lib/tollguard/dist/daemon/cli.js" "$@"
