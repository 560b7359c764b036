/*
 * tsan.c: in SANITIZE=thread builds, every program and libmuster name
 * tests/tsan.supp (by its path in the source tree, MST_TSAN_SUPP) as their
 * default ThreadSanitizer options, so that ranks started over ssh or by
 * Open MPI's orted, which do not pass TSAN_OPTIONS on, use the
 * suppressions too.  $TSAN_OPTIONS still wins.  Other builds define
 * nothing.  (A __tsan_default_suppressions hook is not enough: TSan takes
 * called_from_lib entries only from a file.)
 */
#if defined(__SANITIZE_THREAD__)
#define MST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MST_TSAN 1
#endif
#endif

#if defined(MST_TSAN) && defined(MST_TSAN_SUPP)
const char *__tsan_default_options(void);

const char *
__tsan_default_options(void)
{
	return "suppressions=" MST_TSAN_SUPP;
}
#else
/* ISO C wants something in a translation unit. */
typedef int mst_tsan_unused;
#endif
