# PID 1 of one namespaced host (run by bash under unshare; see NamespacedHosts).
# Arguments: host dir, hostname, shared storage dir ("" = none), common instances path ("" = none),
# then the paths that must show this host's own instances directory.
set -euo pipefail
dir=$1 name=$2 shared=$3 common=$4
shift 4
mount -t tmpfs -o mode=0755 virga-run /run
mkdir -p /run/libvirt /run/lock
mount --bind "$dir/run-libvirt" /run/libvirt
mount --bind "$dir/etc-libvirt" /etc/libvirt
mount --bind "$dir/lib-libvirt" /var/lib/libvirt
mount --bind "$dir/log-libvirt" /var/log/libvirt
mkdir -p /var/cache/libvirt
mount --bind "$dir/cache-libvirt" /var/cache/libvirt
mount --bind "$dir/hosts" /etc/hosts
hostname "$name"
if [ -n "$shared" ]; then
  # libvirt allows live migration on FUSE only when it is glusterfs
  bindfs -o subtype=glusterfs "$shared" "$shared"
  own=$shared
else
  own=$dir/instances
  for alias in "$@"; do mount --bind "$own" "$alias"; done
fi
if [ -n "$common" ]; then
  mkdir -p "$common"
  mount --bind "$own" "$common"
fi
ip link set lo up
virtlogd -d
libvirtd -d --listen -p /run/libvirtd.pid
touch /run/libvirt/virga-ready
echo "virga namespaced host $name is up"
# PID 1 must reap orphans (daemonised qemu, helpers): bash does while it waits
trap 'exit 0' TERM INT
while :; do
  sleep 86400 &
  wait $! || true
done
