# bash completion for shmkit(1)                                    -*- shell-script -*-

_shmkit_objects()
{
	# ids, keys, POSIX and channel names of the objects that exist now
	shmkit ls -r -n -o id,key,name 2>/dev/null | tr ' ' '\n' | grep -v '^-$'
}

_shmkit()
{
	local cur prev words cword
	_init_completion || return

	local commands="ls stat mk rm gc limits dump watch ipcs run bench heap"
	local filters="--kind --owner --key --id --name --ns"
	if ((cword == 1)); then
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
		return
	fi

	case $prev in
	-k | --kind)
		local kinds="sysv posix shmkit heap chan"
		COMPREPLY=($(compgen -W "$kinds" -- "${cur##*,}"))
		[[ $cur == *,* ]] && COMPREPLY=("${COMPREPLY[@]/#/${cur%,*},}")
		return
		;;
	-u | --owner)
		if [[ ${words[1]} != ipcs ]]; then # ipcs -u is --summary
			COMPREPLY=($(compgen -u -- "$cur"))
			return
		fi
		;;
	-o | --output)
		local cols="KIND KEY ID NAME NS OWNER UID GROUP GID CUSER CUID CGROUP CGID PERMS SIZE
			USED FREE LARGEST NAMED TYPE CAPACITY MSGSIZE DEPTH SENT ABANDONED SENDERS RECEIVERS
			NATTCH STATUS CPID LPID ATIME DTIME CTIME COMMAND BACKING"
		COMPREPLY=($(compgen -W "$cols" -- "${cur##*,}"))
		[[ $cur == *,* ]] && COMPREPLY=("${COMPREPLY[@]/#/${cur%,*},}")
		return
		;;
	esac

	# options that take a value, per command (-n, -p, -c and -i mean different things)
	local argopts="--ns --key --id --name"
	case ${words[1]} in
	mk) argopts+=" -p --mode -K --key --posix -M --shmem" ;;
	dump) argopts+=" -s --offset -n --length" ;;
	watch) argopts+=" -i --interval -c --count" ;;
	ipcs) argopts="-i --id --ns" ;;
	esac
	[[ " $argopts " == *" $prev "* ]] && return

	local opts=""
	case ${words[1]} in
	ls) opts="--json --raw --noheadings --output --bytes $filters" ;;
	stat) opts="--json --kind --ns" ;;
	mk) opts="--shmem --mode --key --private --posix --ns" ;;
	rm) opts="--all --verbose $filters" ;;
	gc) opts="--dry-run $filters" ;;
	limits) opts="--bytes --ns" ;;
	dump) opts="--offset --length --no-squeezing --kind --ns" ;;
	watch) opts="--interval --count --bytes $filters" ;;
	ipcs) opts="--shmems --id --time --pid --creator --limits --summary --bytes --human --ns --shmkit" ;;
	run) return ;;
	bench) opts="--quick --sizes --only --duration --passes --json --plot --markdown --ratio --list" ;;
	heap)
		if ((cword == 2)); then
			COMPREPLY=($(compgen -W "check names --help" -- "$cur"))
			return
		fi
		opts="--repair"
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
		return
	fi
	case ${words[1]} in
	stat | rm | dump) COMPREPLY=($(compgen -W "$(_shmkit_objects)" -- "$cur")) ;;
	heap) COMPREPLY=($(compgen -W "$(shmkit ls -r -n -k heap -o name 2>/dev/null)" -- "$cur")) ;;
	esac
} &&
	complete -F _shmkit shmkit

# ex: filetype=sh
