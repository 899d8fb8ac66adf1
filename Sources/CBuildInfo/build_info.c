// The only file that sees the build stamp: Package.swift defines these macros
// for this target alone, so a new commit recompiles this file and relinks,
// and no Swift module is rebuilt. A macro left undefined means "not stamped".
#include "acs_build_info.h"
#include <stddef.h>

#ifndef ACS_BUILD_VERSION
#define ACS_BUILD_VERSION NULL
#endif
#ifndef ACS_BUILD_REVISION
#define ACS_BUILD_REVISION NULL
#endif
#ifndef ACS_BUILD_BRANCH
#define ACS_BUILD_BRANCH NULL
#endif
#ifndef ACS_BUILD_DATE
#define ACS_BUILD_DATE NULL
#endif
#ifndef ACS_BUILD_USER
#define ACS_BUILD_USER NULL
#endif
#ifndef ACS_SWIFT_VERSION
#define ACS_SWIFT_VERSION NULL
#endif
#ifdef ACS_BUILD_STAMPED
#define ACS_BUILD_STAMPED_FLAG 1
#else
#define ACS_BUILD_STAMPED_FLAG 0
#endif

const char *acs_build_version(void) { return ACS_BUILD_VERSION; }
const char *acs_build_revision(void) { return ACS_BUILD_REVISION; }
const char *acs_build_branch(void) { return ACS_BUILD_BRANCH; }
const char *acs_build_date(void) { return ACS_BUILD_DATE; }
const char *acs_build_user(void) { return ACS_BUILD_USER; }
const char *acs_build_swift_version(void) { return ACS_SWIFT_VERSION; }
int acs_build_stamped(void) { return ACS_BUILD_STAMPED_FLAG; }
