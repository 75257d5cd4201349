#!/bin/sh
# Two "hosts" on this machine: network namespaces mynn-a-PID (10.77.0.1) and
# mynn-b-PID (10.77.0.2) joined by a veth pair.  mpirun runs in the first,
# launches the remote rank through a launch agent (--mca plm_rsh_agent)
# that enters the second namespace instead of ssh, and TCP is the only
# transport (--mca btl tcp,self on the veth), so every gradient crosses a
# network stack.  One rank per host; the weights must be those of one
# process.  Usage: netns.sh TOOL COMPARE WORKDIR.  Exit 0 pass, 1 fail,
# 77 skip (not root, no ip, namespaces not allowed), with the reason last.
# The namespaces (and so the veth) are deleted on every way out.
TOOL=$1 CMP=$2 W=$3
A=mynn-a-$$ B=mynn-b-$$ VA=mya$$ VB=myb$$
say() { echo "$*"; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

[ "$(id -u)" = 0 ] || { say "needs root for ip netns"; exit 77; }
command -v ip >/dev/null 2>&1 || { say "ip not found (apt-get install iproute2)"; exit 77; }
cleanup() {
    ip netns del "$A" 2>/dev/null
    ip netns del "$B" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$W" || exit 1
if ! ip netns add "$A" 2>err.txt || ! ip netns add "$B" 2>>err.txt; then
    say "cannot create network namespaces here: $(head -1 err.txt)"
    exit 77
fi
# Any step refused here is a limit of the machine (a container without
# CAP_NET_ADMIN), said as the skip's reason.
net() { "$@" 2>err.txt || { say "cannot set up the veth pair here: ip ${*#ip }: $(head -1 err.txt)"; exit 77; }; }
net ip link add "$VA" type veth peer name "$VB"
net ip link set "$VA" netns "$A"
net ip link set "$VB" netns "$B"
net ip -n "$A" addr add 10.77.0.1/24 dev "$VA"
net ip -n "$B" addr add 10.77.0.2/24 dev "$VB"
for ns in "$A" "$B"; do net ip -n "$ns" link set lo up; done
net ip -n "$A" link set "$VA" up
net ip -n "$B" link set "$VB" up

# The launch agent: Open MPI calls it as "agent HOST COMMAND..." (as it
# would ssh); the command is a shell line starting the remote orted.
cat >"$W/agent.sh" <<EOF
#!/bin/sh
host=\$1; shift
case \$host in
10.77.0.1) ns=$A ;;
10.77.0.2) ns=$B ;;
*) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
EOF
chmod +x "$W/agent.sh"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' >"$W/hosts"
NET="--layers 32:relu,16:tanh,3:softmax --batch 25 --threads 1 --seed 3 --optimizer adam --lr 0.01 --epochs 1"
"$TOOL" train train.csv --test test.csv $NET --save ns-ref.st >ns-ref.out 2>&1 || { say "one process failed"; exit 1; }
tx0=$(ip netns exec "$B" cat /sys/class/net/"$VB"/statistics/tx_bytes)
# mpirun's environment (OMPI_MCA_btl=self,vader from run.sh) is replaced on the command line.
ip netns exec "$A" timeout 120 mpirun --hostfile hosts -np 2 --map-by node --bind-to none \
    --mca plm_rsh_agent "$W/agent.sh" --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 \
    --mca oob_tcp_if_include 10.77.0.0/24 -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
    "$TOOL" train train.csv --test test.csv $NET --save ns.st >ns.out 2>&1
rc=$?
tx1=$(ip netns exec "$B" cat /sys/class/net/"$VB"/statistics/tx_bytes)
cat ns.out
if [ $rc -ne 0 ]; then say "mpirun across the namespaces failed (exit $rc): $(grep -v '^ *$' ns.out | tail -1)"; exit 1; fi
grep -q "^all-reduce: 2 ranks" ns.out || { say "the run did not use 2 ranks"; exit 1; }
sent=$((tx1 - tx0))
say "host b sent $sent bytes over $VB (41 gradient all-reduces of 869 floats)"
# Each step sends at least the gradient buffer (3476 bytes) one way.
[ "$sent" -gt $((41 * 3476)) ] || { say "too little traffic over the veth: $sent bytes"; exit 1; }
"$CMP" same ns.st ns-ref.st 1e-5 || { say "the two-host model differs from one process"; exit 1; }
say "two hosts over TCP: the same weights as one process"
