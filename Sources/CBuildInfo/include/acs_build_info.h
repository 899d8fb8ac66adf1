#ifndef ACS_BUILD_INFO_H
#define ACS_BUILD_INFO_H

// What `make` stamped into the binary. Each function returns NULL when its
// value was not stamped (a plain `swift build`, or a build outside git); the
// BuildInfo module decides how that reads.
const char *acs_build_version(void);
const char *acs_build_revision(void);
const char *acs_build_branch(void);
const char *acs_build_date(void);
const char *acs_build_user(void);
const char *acs_build_swift_version(void);
// 1 when the build went through `make` (which stamps even outside git).
int acs_build_stamped(void);

#endif
