#!/bin/sh
# isobuild's first-boot configuration, installed from templates/firstboot/firstboot.sh
# (docs/disk.md#first-boot). It applies a small set of keys a deployed appliance needs:
#
#   hostname   the host name (and /etc/hostname, /etc/hosts' 127.0.1.1 line)
#   ssh_key    one authorized_keys line for root
#   ip         dhcp, or ADDRESS/PREFIX for a static address; with gateway=ADDRESS and
#              dns=ADDRESS[,ADDRESS...]
#
# Each key comes from, first found: the kernel command line (isobuild.<key>=VALUE; the kernel's
# double quotes keep blanks: isobuild.ssh_key="ssh-ed25519 AAAA... me@host"), VMware guestinfo
# (guestinfo.<key>, read with vmware-rpctool when open-vm-tools is installed), or the property
# <key> of the OVF environment vSphere's deploy wizard fills in (guestinfo.ovfEnv).
#
# POSIX sh and commands busybox has, nothing else: it runs on the appliance's systemd root
# (isobuild-firstboot.service, before the network) and on busybox-only microVM roots (their init
# runs it). It runs at every boot and changes only what a key asks for.
#
# Tests run it on a folder instead of the machine: FIRSTBOOT_ROOT=<dir> writes the files under
# <dir> and changes nothing of the running system; FIRSTBOOT_CMDLINE=<file> replaces /proc/cmdline.
# udhcpc runs it as its script (`udhcpc -s <this file>`): then $1 is udhcpc's event.

R=${FIRSTBOOT_ROOT:-}
WS=' 	'

say () { echo "isobuild-firstboot: $*"; }

# The kernel command line's words, one a line, as the kernel splits them (next_arg(): blanks
# separate words except between double quotes, which are dropped).
cmdline_words () {
    rest=$1 word= inword=
    while [ -n "$rest" ]; do
        case $rest in
            '"'*)
                rest=${rest#?}
                case $rest in
                    *'"'*) word=$word${rest%%\"*}; rest=${rest#*\"} ;;
                    *) word=$word$rest; rest= ;;
                esac
                inword=1
                ;;
            [$WS]*)
                [ -n "$inword" ] && printf '%s\n' "$word"
                word= inword=
                rest=${rest#?}
                ;;
            *)
                chunk=${rest%%[$WS\"]*}
                word=$word$chunk
                rest=${rest#"$chunk"}
                inword=1
                ;;
        esac
    done
    [ -n "$inword" ] && printf '%s\n' "$word"
}

# guestinfo only under VMware: elsewhere the backdoor port vmware-rpctool talks to is not there.
on_vmware () {
    command -v vmware-rpctool >/dev/null 2>&1 || return 1
    case $(cat "$R/sys/class/dmi/id/sys_vendor" 2>/dev/null) in VMware*) return 0 ;; esac
    return 1
}

# The value of property $1 in the OVF environment's XML (oe:key="..." oe:value="..."), unescaped.
ovfenv_value () {
    printf '%s\n' "$OVFENV" |
        sed -n "s/.*<Property [^>]*oe:key=\"$1\" [^>]*oe:value=\"\([^\"]*\)\".*/\1/p" |
        head -n 1 |
        sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}

# Sets VALUE to key $1's value; fails when no source has it.
lookup () {
    VALUE=
    found=
    while IFS= read -r w; do
        case $w in "isobuild.$1="*) VALUE=${w#isobuild."$1"=} found=1 ;; esac
    done <<EOF
$WORDS
EOF
    [ -n "$found" ] && return 0
    if [ -n "$VMWARE" ]; then
        VALUE=$(vmware-rpctool "info-get guestinfo.$1" 2>/dev/null) && [ -n "$VALUE" ] && return 0
        VALUE=$(ovfenv_value "$1")
        [ -n "$VALUE" ] && return 0
    fi
    return 1
}

set_hostname () {
    case $1 in
        '' | -* | *[!A-Za-z0-9.-]*) say "hostname '$1' is not a host name (letters, digits, dots, dashes): ignored"; return ;;
    esac
    [ ${#1} -le 64 ] || { say "hostname '$1' is longer than 64 characters: ignored"; return; }
    mkdir -p "$R/etc"
    printf '%s\n' "$1" > "$R/etc/hostname"
    if [ -f "$R/etc/hosts" ]; then
        grep -v '^127\.0\.1\.1[[:space:]]' "$R/etc/hosts" > "$R/etc/hosts.isobuild"
        cat "$R/etc/hosts.isobuild" > "$R/etc/hosts"
        rm -f "$R/etc/hosts.isobuild"
    fi
    printf '127.0.1.1\t%s\n' "$1" >> "$R/etc/hosts"
    [ -n "$R" ] || printf '%s' "$1" > /proc/sys/kernel/hostname
    say "hostname $1"
}

add_ssh_key () {
    case $1 in
        ssh-* | ecdsa-* | sk-*) ;;
        *) say "ssh_key does not start with a key type (ssh-ed25519, ssh-rsa, ecdsa-...): ignored"; return ;;
    esac
    mkdir -p "$R/root/.ssh"
    chmod 700 "$R/root/.ssh"
    keys=$R/root/.ssh/authorized_keys
    if ! grep -qxF "$1" "$keys" 2>/dev/null; then
        printf '%s\n' "$1" >> "$keys"
        say "ssh_key added to /root/.ssh/authorized_keys"
    fi
    chmod 600 "$keys"
}

has_networkd () {
    [ -x "$R/lib/systemd/systemd-networkd" ] || [ -x "$R/usr/lib/systemd/systemd-networkd" ]
}

# The first network interface other than loopback.
first_iface () {
    for d in /sys/class/net/*; do
        n=${d##*/}
        [ "$n" = lo ] || { echo "$n"; return 0; }
    done
    return 1
}

write_resolv_conf () {
    [ -n "$1" ] || return 0
    : > "$R/etc/resolv.conf.isobuild"
    for a in $(echo "$1" | tr ',' ' '); do echo "nameserver $a" >> "$R/etc/resolv.conf.isobuild"; done
    # Replaced by content: /etc/resolv.conf may be a link (systemd-resolved) or on a read-only root.
    rm -f "$R/etc/resolv.conf"
    mv "$R/etc/resolv.conf.isobuild" "$R/etc/resolv.conf"
}

# systemd-networkd reads the file when it starts (the unit runs before it); its name sorts before
# the image's own files, so it wins for the interfaces it matches.
network_networkd () {
    dir=$R/etc/systemd/network
    mkdir -p "$dir"
    {
        printf '# Written by isobuild-firstboot from isobuild.ip / guestinfo.ip.\n[Match]\nName=en* eth*\n\n[Network]\n'
        if [ "$1" = dhcp ]; then
            echo DHCP=yes
        else
            echo "Address=$1"
            [ -n "$2" ] && echo "Gateway=$2"
        fi
        for a in $(echo "$3" | tr ',' ' '); do echo "DNS=$a"; done
    } > "$dir/10-isobuild-firstboot.network"
    say "network $1${2:+ via $2}${3:+ dns $3}: $dir/10-isobuild-firstboot.network"
}

# Without networkd (busybox roots): the address is set now, with ip and udhcpc.
network_now () {
    [ -n "$R" ] && { write_resolv_conf "$3"; return; }
    iface=$(first_iface) || { say "no network interface for ip=$1"; return; }
    ip link set "$iface" up
    if [ "$1" = dhcp ]; then
        udhcpc -i "$iface" -s "$SELF" -q -n -t 10 >/dev/null 2>&1 || say "no DHCP lease on $iface"
    else
        ip addr add "$1" dev "$iface" || say "cannot set $1 on $iface"
        [ -n "$2" ] && { ip route add default via "$2" dev "$iface" || say "cannot route through $2"; }
    fi
    write_resolv_conf "$3"
    say "network $1${2:+ via $2} on $iface"
}

# udhcpc's events (busybox's contract: interface, ip, mask, router, dns in the environment).
udhcpc_event () {
    case $1 in
        deconfig) ip addr flush dev "$interface" 2>/dev/null; ip link set "$interface" up ;;
        bound | renew)
            ip addr flush dev "$interface" 2>/dev/null
            ip addr add "$ip/${mask:-24}" dev "$interface"
            for r in $router; do ip route add default via "$r" dev "$interface" && break; done
            [ -n "$dns" ] && write_resolv_conf "$(echo $dns | tr ' ' ',')"
            ;;
    esac
    exit 0
}

case $0 in /*) SELF=$0 ;; *) SELF=$PWD/$0 ;; esac
case $1 in deconfig | bound | renew | leasefail | nak) udhcpc_event "$1" ;; esac

WORDS=$(cmdline_words "$(cat "${FIRSTBOOT_CMDLINE:-/proc/cmdline}" 2>/dev/null)")
VMWARE=
OVFENV=
if on_vmware; then
    VMWARE=1
    OVFENV=$(vmware-rpctool "info-get guestinfo.ovfEnv" 2>/dev/null)
fi

lookup hostname && set_hostname "$VALUE"
lookup ssh_key && add_ssh_key "$VALUE"
if lookup ip; then
    ip=$VALUE
    gateway= dns=
    lookup gateway && gateway=$VALUE
    lookup dns && dns=$VALUE
    case $ip in
        dhcp | */*) if has_networkd; then network_networkd "$ip" "$gateway" "$dns"; else network_now "$ip" "$gateway" "$dns"; fi ;;
        *) say "ip '$ip' is neither dhcp nor ADDRESS/PREFIX: ignored" ;;
    esac
fi
exit 0
