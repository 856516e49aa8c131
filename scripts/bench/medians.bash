# shellcheck shell=bash
# The medians the CPU benches print, sourced by metacpu.sh and vfscpu.sh.
# The caller collects each run's three numbers as a line of all[KEY]
# (an associative array).

# print_medians LEGEND KEY...: per KEY, the median of each column.
# shellcheck disable=SC2154 # all is the caller's
print_medians() {
    local legend=$1 key col
    shift
    for key in "$@"; do
        printf '%s median: ' "$key"
        for col in 1 2 3; do
            printf '%s ' "$(printf '%s' "${all[$key]}" | awk -v c="$col" 'NF {print $c}' |
                sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
        done
        echo "($legend)"
    done
}
