# bash completion for mcrctl: commands, options, and rule names read from
# the running daemon (`mcrctl list --json`) when it answers.
# shellcheck shell=bash

__mcrctl_rule_names() {
    # Pass on the global options that select which daemon to ask.
    local -a opts=()
    local i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        case ${COMP_WORDS[i]} in
            -n|--namespace|--bus-address) opts+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}") ;;
            --namespace=*|--bus-address=*) opts+=("${COMP_WORDS[i]}") ;;
        esac
    done
    # Names are [A-Za-z0-9_.-], so pulling "name" values out of the JSON
    # with sed is exact; no jq dependency.
    mcrctl "${opts[@]}" --no-ask-password --json list 2>/dev/null |
        sed -n 's/^ *"name": *"\([A-Za-z0-9_.-]*\)".*/\1/p'
}

# Completes $cur from a word list.
__mcrctl_reply() {
    mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_mcrctl() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local global_opts="-h --help -n --namespace --bus-address --json --no-ask-password"
    local commands="add remove list show stats status workers reload log-level config version"

    case $prev in
        -n|--namespace)
            __mcrctl_reply "$(ip netns list 2>/dev/null | cut -d' ' -f1)"
            return ;;
        --bus-address|--in|--out|--interval|--count|--sample|--events)
            return ;;
        --fast-path)
            __mcrctl_reply "auto off"
            return ;;
        --inspect)
            __mcrctl_reply "none rtp mpegts"
            return ;;
    esac

    # Find the command (and config's sub-command) typed so far.
    local command="" subcommand="" i word
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            -n|--namespace|--bus-address) ((i++)); continue ;;
            -*) continue ;;
        esac
        if [[ -z $command ]]; then
            command=$word
        elif [[ $command == config && -z $subcommand ]]; then
            subcommand=$word
        fi
    done

    case $command in
        "")
            if [[ $cur == -* ]]; then
                __mcrctl_reply "$global_opts"
            else
                __mcrctl_reply "$commands"
            fi ;;
        add)
            __mcrctl_reply "--in --out --fast-path --inspect --allow-link-local $global_opts" ;;
        remove|show)
            if [[ $cur == -* ]]; then
                __mcrctl_reply "$global_opts"
            else
                __mcrctl_reply "$(__mcrctl_rule_names)"
            fi ;;
        stats)
            __mcrctl_reply "--watch --interval --count $global_opts" ;;
        status)
            __mcrctl_reply "--sample --events $global_opts" ;;
        log-level)
            __mcrctl_reply "err warning notice info debug $global_opts" ;;
        config)
            case $subcommand in
                "") __mcrctl_reply "import export" ;;
                import)
                    if [[ $cur == -* ]]; then
                        __mcrctl_reply "--replace $global_opts"
                    else
                        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                    fi ;;
                *) __mcrctl_reply "$global_opts" ;;
            esac ;;
        *)
            __mcrctl_reply "$global_opts" ;;
    esac
}

complete -F _mcrctl mcrctl
