# Reading sipp's final screen (its stdout with -nostdin), for tests and
# benchmarks (POSIX sh, sourced).
#
# sipp_stat FILE NAME: a counter's cumulative value ("Successful call").
sipp_stat() {
    awk -F'|' -v n="$2" 'index($1, n) == 3 { v = $3 } END { gsub(/ /, "", v); print v + 0 }' "$1"
}
# sipp_msg FILE PATTERN COLUMN: a column of the message table on the first
# line matching PATTERN ("INVITE -" for a UAC's INVITE, "-> ACK" or
# "<-* 200" for a UAS): 1 messages, 2 retransmissions, 3 timeouts. The
# counts follow the arrow and the name ("INVITE ---->  B-RTD1 n ..." or
# "----> INVITE  n ..."), and the RTD mark if there is one.
sipp_msg() {
    awk -v p="$2" -v c="$3" '!done && $0 ~ p { i = 3; if ($i ~ /RTD/) i++
        v = $(i + c - 1); done = 1 } END { print v + 0 }' "$1"
}
