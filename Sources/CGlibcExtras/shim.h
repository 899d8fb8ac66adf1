#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Lowers the calling thread's scheduling priority (Linux applies nice per thread). */
static inline int acs_lower_thread_priority(int nice_value) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice_value);
}

/* Names the calling thread (up to 15 bytes), as `top -H` and `ps -L` show it. */
static inline void acs_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, name, 0, 0, 0);
}
