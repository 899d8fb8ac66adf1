#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* Swift does not import C variadic functions; these fixed-argument wrappers
   read the few connection facts the server needs. Each is one field of
   MHD_get_connection_info's answer, or `missing` when there is none. */
#define ACS_MHD_CONNECTION_INFO(type, name, kind, field, missing)                        \
    static inline type name(struct MHD_Connection *connection) {                        \
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, kind); \
        return info != NULL ? info->field : missing;                                    \
    }

ACS_MHD_CONNECTION_INFO(void *, acs_mhd_socket_context, MHD_CONNECTION_INFO_SOCKET_CONTEXT, socket_context, NULL)
ACS_MHD_CONNECTION_INFO(int, acs_mhd_connection_fd, MHD_CONNECTION_INFO_CONNECTION_FD, connect_fd, -1)
ACS_MHD_CONNECTION_INFO(const struct sockaddr *, acs_mhd_client_address, MHD_CONNECTION_INFO_CLIENT_ADDRESS, client_addr, NULL)
/* Bytes of the request line and headers, as libmicrohttpd received them. */
ACS_MHD_CONNECTION_INFO(size_t, acs_mhd_request_header_size, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE, header_size, 0)
/* The GnuTLS session of a TLS connection (NULL on plain HTTP), as a void pointer
   so this header need not include GnuTLS's. */
ACS_MHD_CONNECTION_INFO(void *, acs_mhd_tls_session, MHD_CONNECTION_INFO_GNUTLS_SESSION, tls_session, NULL)

/* libmicrohttpd's external logger takes a va_list, which a Swift closure cannot
   receive: this adapter formats the line and hands it to `log` as a C string. */
struct acs_log_target {
    void (*log)(void *context, const char *line);
    void *context;
};

static inline void acs_mhd_log_adapter(void *cls, const char *format, va_list arguments) {
    const struct acs_log_target *target = (const struct acs_log_target *) cls;
    char line[512];
    vsnprintf(line, sizeof line, format, arguments);
    target->log(target->context, line);
}

static inline void *acs_mhd_log_adapter_pointer(void) {
    return (void *) &acs_mhd_log_adapter;
}
