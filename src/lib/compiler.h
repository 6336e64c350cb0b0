/* Compiler attributes and tiny macros shared by every module. */
#ifndef HEARTH_COMPILER_H
#define HEARTH_COMPILER_H

#define FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef MIN	/* <sys/param.h> defines them the same way */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#endif
