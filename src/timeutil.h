/* Clocks and time formatting used across ebaysync. */
#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stddef.h>

/* Milliseconds on the monotonic clock: for durations and deadlines. */
long long timeutil_mono_ms(void);
/* Microseconds on the monotonic clock: for delays that a millisecond's
 * truncation would lengthen (the simulator's latency). */
long long timeutil_mono_us(void);
/* Milliseconds since the Unix epoch: for what is stored and shown. */
long long timeutil_wall_ms(void);
/* "HH:MM:SS" in local time into out (at least 9 bytes). */
void timeutil_hms(long long wall_ms, char *out, size_t size);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into out (at least 25 bytes). */
void timeutil_iso(long long wall_ms, char *out, size_t size);
/* Sleeps for ms milliseconds (restarting after signals). */
void timeutil_sleep_ms(long long ms);

#endif
