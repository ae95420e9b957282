/* call_site.c — a caller's address in words (call_site.h). */
#define _GNU_SOURCE /* dladdr */
#include "call_site.h"
#include "host_internal.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

__thread const void *cl__call_site;

int cl__call_site_describe(const void *site, char *out, size_t size) {
    if (!site || !size) return 0;
    if (cl__host_describe_code(site, out, size)) return 1;
    Dl_info info;
    if (!dladdr(site, &info) || !info.dli_fname) return 0;
    uintptr_t offset = (uintptr_t)site - (uintptr_t)info.dli_fbase;
    if (info.dli_sname) snprintf(out, size, "in %s, %s+0x%lx", info.dli_sname, info.dli_fname, (unsigned long)offset);
    else snprintf(out, size, "%s+0x%lx", info.dli_fname, (unsigned long)offset);
    return 2;
}
