# smtpprobe(1) completion for bash                       -*- shell-script -*-
#
# Completes the options, the values that have a fixed set (--tls,
# --auth-mech, --quit-after, --format, explain --after), file names for
# --batch, --output, --ca-file, --auth-password-file and
# --proxy-password-file, and the `explain' subcommand as the first word.
# Uses bash-completion's helpers when they are loaded and plain compgen
# otherwise.  Installed as share/bash-completion/completions/smtpprobe,
# where bash-completion loads it on first use.
#
# The option lists are kept by hand in step with `smtpprobe --help' and
# `smtpprobe explain --help': tests/docs/check_cli_docs.py completion
# (ctest docs.completion) compares them.

_smtpprobe_options='--from --helo --server --port --dns-server --timeout
	--tls --ca-file --no-mta-sts --catch-all --quit-after --helo-test
	--source-ip --self-check
	--batch --parallel --per-server --delay --rate --retries --backoff
	--progress --rcpt-per-transaction --rcpt-per-connection
	--error-budget --greylist-retry --output --resume --column
	--shard --keep-going --auth-user
	--auth-password-file --auth-mech --auth-plaintext --proxy
	--proxy-password-file --relay-test
	--relay-rcpt --relay-domain -4 -6 --json --format --warning
	--critical --warning-days --critical-days -v --verbose -h --help
	--version'
_smtpprobe_explain_options='--after --json -h --help'
_smtpprobe_explain_commands='GREETING EHLO HELO STARTTLS AUTH MAIL RCPT
	DATA BDAT RSET VRFY EXPN HELP NOOP QUIT'

# File names for an option's value: bash-completion's _filedir, which
# quotes and marks directories, or compgen with -o filenames.
_smtpprobe_files()
{
	if declare -F _filedir >/dev/null 2>&1; then
		_filedir
	else
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

_smtpprobe()
{
	local cur prev words cword split=false

	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -s || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		# Without bash-completion, "--tls=re" arrives as three words,
		# "--tls" "=" "re" ('=' is in COMP_WORDBREAKS).
		if [[ $cur == = ]]; then
			cur=
			split=true
		elif [[ $prev == = && $cword -ge 2 ]]; then
			prev=${words[cword - 2]}
			split=true
		fi
	fi
	COMPREPLY=()

	# "smtpprobe explain ...": its own options; a REPLY is free text.
	if [[ ${words[1]} == explain && $cword -gt 1 ]]; then
		case $prev in
		--after)
			mapfile -t COMPREPLY < <(compgen -W \
			    "$_smtpprobe_explain_commands" -- "${cur^^}")
			return
			;;
		esac
		if [[ $cur == -* && $split == false ]]; then
			mapfile -t COMPREPLY < <(compgen -W \
			    "$_smtpprobe_explain_options" -- "$cur")
		fi
		return
	fi

	case $prev in
	--batch)
		_smtpprobe_files
		[[ -z $cur || $cur == - ]] && COMPREPLY+=(-)
		return
		;;
	--ca-file | --auth-password-file | --proxy-password-file | --output)
		_smtpprobe_files
		return
		;;
	--tls)
		mapfile -t COMPREPLY < <(compgen -W \
		    'opportunistic required dane implicit never' -- "$cur")
		return
		;;
	--auth-mech)
		mapfile -t COMPREPLY < <(compgen -W 'PLAIN LOGIN CRAM-MD5' \
		    -- "${cur^^}")
		return
		;;
	--format)
		mapfile -t COMPREPLY < <(compgen -W \
		    'text json csv nagios prometheus' -- "$cur")
		return
		;;
	--quit-after)
		mapfile -t COMPREPLY < <(compgen -W \
		    'connect greeting ehlo tls auth mail rcpt' -- "$cur")
		return
		;;
	--server)
		if declare -F _known_hosts_real >/dev/null 2>&1; then
			_known_hosts_real -- "$cur"
		else
			mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
		fi
		return
		;;
	--source-ip)
		if declare -F _ip_addresses >/dev/null 2>&1; then
			_ip_addresses
		fi
		return
		;;
	--from | --helo | --port | --dns-server | --timeout | --parallel | \
	--from | --helo | --port | --dns-server | --timeout | --parallel | \
	    --per-server | --delay | --rate | --retries | --backoff | \
	    --rcpt-per-transaction | --rcpt-per-connection | \
	    --error-budget | --greylist-retry | --column | --shard | \
	    --auth-user | --relay-rcpt | --relay-domain | --proxy | \
	    --warning | --critical | --warning-days | --critical-days)
		# A value of the user's own: nothing to offer.
		return
		;;
	esac
	[[ $split == true ]] && return

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$_smtpprobe_options" \
		    -- "$cur")
	elif [[ $cword -eq 1 ]]; then
		mapfile -t COMPREPLY < <(compgen -W explain -- "$cur")
	fi
} &&
	complete -F _smtpprobe smtpprobe

# ex: filetype=sh
