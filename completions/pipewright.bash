# bash completion for pipewright (generated from its command registry; do not edit)
_pipewright() {
  local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" sub="${COMP_WORDS[2]}" opts pos
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "attach detach route rule tc batch bridge overlay apply find-ip doctor gc show netns repro engine cni completion help --help -h --version -V --guest-if -i --host-end -l --family -a --direct-phys --wait --timeout --mtu --owner --no-arp --ipv6-link-local --dry-run --watch --repair --force --json --verbose -v --quiet -q --help -h $(ls /sys/class/net 2>/dev/null)" -- "$cur"))
    return
  fi
  case "$cmd" in
    attach)
      opts="--host-if --guest --guest-if -i --host-end -l --address --gateway --family -a --mac --vlan --direct-phys --mtu --dhcp --timeout --no-arp --ipv6-link-local --owner --dry-run --watch --repair --json --verbose -v --quiet -q --help -h"
      pos=(-W "$(ls /run/netns 2>/dev/null)")
      ;;
    detach)
      opts="--guest --guest-if -i --force --json --verbose -v --quiet -q --help -h"
      pos=(-W "$(ls /run/netns 2>/dev/null)")
      ;;
    route)
      opts="--json --help -h"
      pos=(-W "$(ls /run/netns 2>/dev/null)")
      ;;
    rule)
      opts="--json --help -h"
      pos=(-W "$(ls /run/netns 2>/dev/null)")
      ;;
    tc)
      opts="--help -h"
      pos=(-W "$(ls /run/netns 2>/dev/null)")
      ;;
    batch)
      opts="--concurrency --create-netns --json --help -h"
      pos=(-f)
      ;;
    bridge)
      opts="--address --mtu --stp --owner --dry-run --json --verbose -v --quiet -q --help -h"
      pos=(-W "")
      ;;
    overlay)
      opts="--vni --dev --local --peers --port --bridge --mtu --fix-mtu --show --delete --owner --dry-run --json --verbose -v --quiet -q --help -h"
      pos=(-W "")
      ;;
    apply)
      opts="--create-netns --dry-run --json --verbose -v --quiet -q --help -h"
      pos=(-f)
      ;;
    find-ip)
      opts="--mac --ifname --json --help -h"
      pos=(-W "")
      ;;
    doctor)
      opts="--netns --only --json --help -h"
      pos=(-W "")
      ;;
    gc)
      opts="--owner --netns --dry-run --complete --json --help -h"
      pos=(-W "")
      ;;
    show)
      opts="--format --netns --json --help -h"
      pos=(-W "")
      ;;
    netns)
      if [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=($(compgen -W "ls list holders delete del --help -h" -- "$cur"))
        return
      fi
      case "$sub" in
        ls|list)
          opts="--all --json --help -h"
          pos=(-W "")
          ;;
        holders)
          opts="--json --help -h"
          pos=(-W "$(ls /run/netns 2>/dev/null)")
          ;;
        delete|del)
          opts="--timeout --json --help -h"
          pos=(-W "$(ls /run/netns 2>/dev/null)")
          ;;
        *) return ;;
      esac
      ;;
    repro)
      opts="--json --help -h"
      pos=(-W "")
      ;;
    engine)
      opts="--socket --socket-mode --allow-uid --no-reconcile --json --help -h"
      pos=(-W "")
      ;;
    cni)
      opts="--help -h"
      pos=(-W "")
      ;;
    completion)
      opts="--help -h"
      pos=(-W "bash zsh")
      ;;
    help)
      opts="--help -h"
      pos=(-W "attach detach route rule tc batch bridge overlay apply find-ip doctor gc show netns repro engine cni completion help")
      ;;
    *) opts="--guest-if -i --host-end -l --family -a --direct-phys --wait --timeout --mtu --owner --no-arp --ipv6-link-local --dry-run --watch --repair --force --json --verbose -v --quiet -q --help -h"; pos=(-W "$(ls /run/netns 2>/dev/null)") ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen "${pos[@]}" -- "$cur")); fi
}
complete -F _pipewright pipewright
