/*
 * tsan.c: ThreadSanitizer suppressions built into every program and into
 * libmuster, so that ranks on other hosts (started over ssh or by Open
 * MPI's orted, which do not pass TSAN_OPTIONS on) use them too.  Only
 * SANITIZE=thread builds define the hook.
 *
 * libzmq hands messages between its I/O thread and ours through lock-free
 * queues (ypipe) whose atomics TSan cannot see in an uninstrumented build;
 * every report inside it is of that kind, and likewise for libsodium.
 * Our own code stays checked.
 */
#if defined(__SANITIZE_THREAD__)
#define MST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MST_TSAN 1
#endif
#endif

#ifdef MST_TSAN
const char *__tsan_default_suppressions(void);

const char *
__tsan_default_suppressions(void)
{
	return "race:libzmq.so\n"
	    "called_from_lib:libzmq.so\n"
	    "race:libsodium.so\n"
	    "called_from_lib:libsodium.so\n";
}
#else
/* ISO C wants something in a translation unit. */
typedef int mst_tsan_unused;
#endif
