/*
 * Encoding and decoding of the control protocol between the daemon and the
 * spawner (format in internal.h). Pure code: no fds, no allocation beyond the
 * caller's struct buf, so the unit test can drive it from tables.
 *
 * The spawner is privileged and the daemon is not trusted more than it must
 * be, so the decoder validates every length before it looks at the bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sandbox/internal.h"
#include "lib/banned.h"

#define HDR_LEN 16u
#define FIELD_HDR_LEN 8u

static void
put_u32(struct buf *b, uint32_t v)
{
	buf_add(b, &v, sizeof(v));
}

static void
put_field(struct buf *b, uint32_t tag, const void *data, uint32_t len)
{
	put_u32(b, tag);
	put_u32(b, len);
	buf_add(b, data, len);
}

static void
put_str(struct buf *b, uint32_t tag, const char *s)
{
	if (s)
		put_field(b, tag, s, (uint32_t)strlen(s) + 1);
}

static void
put_i32(struct buf *b, uint32_t tag, int32_t v)
{
	put_field(b, tag, &v, sizeof(v));
}

void
sandbox__msg_init(struct sandbox__msg *m, uint32_t type, uint64_t id)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->id = id;
}

int
sandbox__msg_encode(const struct sandbox__msg *m, struct buf *out)
{
	size_t start = out->len, i;
	uint64_t id = m->id;

	put_u32(out, m->type);
	put_u32(out, 0);
	buf_add(out, &id, sizeof(id));
	put_str(out, SANDBOX__T_CODE_DIR, m->code_dir);
	put_str(out, SANDBOX__T_RUNTIME_DIR, m->runtime_dir);
	for (i = 0; i < m->argc; i++)
		put_str(out, SANDBOX__T_ARG, m->argv[i]);
	for (i = 0; i < m->envc; i++)
		put_str(out, SANDBOX__T_ENV, m->envp[i]);
	/* Scalars go out only when set: the decoder zero-fills what is absent. */
	if (m->mem_bytes)
		put_field(out, SANDBOX__T_MEM_BYTES, &m->mem_bytes, sizeof(m->mem_bytes));
	if (m->tmp_bytes)
		put_field(out, SANDBOX__T_TMP_BYTES, &m->tmp_bytes, sizeof(m->tmp_bytes));
	if (m->pids_max)
		put_field(out, SANDBOX__T_PIDS_MAX, &m->pids_max, sizeof(m->pids_max));
	if (m->pid)
		put_i32(out, SANDBOX__T_PID, m->pid);
	if (m->wait_status)
		put_i32(out, SANDBOX__T_WAIT_STATUS, m->wait_status);
	if (m->oom_killed)
		put_i32(out, SANDBOX__T_OOM_KILLED, m->oom_killed);
	if (m->err_code)
		put_i32(out, SANDBOX__T_ERR_CODE, m->err_code);
	put_str(out, SANDBOX__T_ERR_MSG, m->err_msg);
	if (m->cgroup_version)
		put_i32(out, SANDBOX__T_CGROUP_VERSION, m->cgroup_version);
	if (m->network)
		put_field(out, SANDBOX__T_NETWORK, &m->network, sizeof(m->network));
	if (out->len - start > SANDBOX__MSG_MAX) {
		buf_setlen(out, start);
		return -E2BIG;
	}
	return 0;
}

/* A string field must end with its NUL and hold no other. */
static int
get_str(const char *p, uint32_t len, const char **out)
{
	if (len == 0 || p[len - 1] != '\0' || memchr(p, '\0', len - 1))
		return -EBADMSG;
	*out = p;
	return 0;
}

static int
get_scalar(const char *p, uint32_t len, void *out, size_t size, uint32_t *seen, uint32_t tag)
{
	if (len != size || (*seen & (1u << tag)))
		return -EBADMSG;
	*seen |= 1u << tag;
	memcpy(out, p, size);
	return 0;
}

int
sandbox__msg_decode(const void *data, size_t len, struct sandbox__msg *m)
{
	const char *p = data;
	uint32_t type, reserved, tag, flen, seen = 0;
	uint64_t id;
	size_t off;
	int r;

	if (len < HDR_LEN || len > SANDBOX__MSG_MAX)
		return -EBADMSG;
	memcpy(&type, p, 4);
	memcpy(&reserved, p + 4, 4);
	memcpy(&id, p + 8, 8);
	if (type == 0 || type >= SANDBOX__MSG_TYPE_MAX || reserved != 0)
		return -EBADMSG;
	sandbox__msg_init(m, type, id);
	for (off = HDR_LEN; off < len; off += flen) {
		if (len - off < FIELD_HDR_LEN)
			return -EBADMSG;
		memcpy(&tag, p + off, 4);
		memcpy(&flen, p + off + 4, 4);
		off += FIELD_HDR_LEN;
		if (flen > len - off)
			return -EBADMSG;
		switch (tag) {
		case SANDBOX__T_CODE_DIR:
		case SANDBOX__T_RUNTIME_DIR:
		case SANDBOX__T_ERR_MSG: {
			const char **dst = tag == SANDBOX__T_CODE_DIR ? &m->code_dir :
					   tag == SANDBOX__T_RUNTIME_DIR ? &m->runtime_dir :
					   &m->err_msg;

			if (*dst)
				return -EBADMSG;
			r = get_str(p + off, flen, dst);
			break;
		}
		case SANDBOX__T_ARG:
			if (m->argc >= SANDBOX__MAX_ARGS)
				return -E2BIG;
			r = get_str(p + off, flen, &m->argv[m->argc++]);
			break;
		case SANDBOX__T_ENV:
			if (m->envc >= SANDBOX__MAX_ENV)
				return -E2BIG;
			r = get_str(p + off, flen, &m->envp[m->envc++]);
			break;
		case SANDBOX__T_MEM_BYTES:
			r = get_scalar(p + off, flen, &m->mem_bytes, 8, &seen, tag);
			break;
		case SANDBOX__T_TMP_BYTES:
			r = get_scalar(p + off, flen, &m->tmp_bytes, 8, &seen, tag);
			break;
		case SANDBOX__T_PIDS_MAX:
			r = get_scalar(p + off, flen, &m->pids_max, 4, &seen, tag);
			break;
		case SANDBOX__T_PID:
			r = get_scalar(p + off, flen, &m->pid, 4, &seen, tag);
			break;
		case SANDBOX__T_WAIT_STATUS:
			r = get_scalar(p + off, flen, &m->wait_status, 4, &seen, tag);
			break;
		case SANDBOX__T_OOM_KILLED:
			r = get_scalar(p + off, flen, &m->oom_killed, 4, &seen, tag);
			break;
		case SANDBOX__T_ERR_CODE:
			r = get_scalar(p + off, flen, &m->err_code, 4, &seen, tag);
			break;
		case SANDBOX__T_CGROUP_VERSION:
			r = get_scalar(p + off, flen, &m->cgroup_version, 4, &seen, tag);
			break;
		case SANDBOX__T_NETWORK:
			r = get_scalar(p + off, flen, &m->network, 4, &seen, tag);
			if (r == 0 && m->network > SANDBOX_NET_HOST)
				return -EBADMSG;
			break;
		default:
			/* Both ends are one binary: an unknown tag means corruption. */
			return -EBADMSG;
		}
		if (r < 0)
			return r;
	}
	m->argv[m->argc] = NULL;
	m->envp[m->envc] = NULL;
	return 0;
}

const char *
sandbox__msg_type_name(uint32_t type)
{
	static const char *const names[] = {
		[SANDBOX__MSG_READY] = "ready",
		[SANDBOX__MSG_START_FAILED] = "start-failed",
		[SANDBOX__MSG_SPAWNED] = "spawned",
		[SANDBOX__MSG_SPAWN_FAILED] = "spawn-failed",
		[SANDBOX__MSG_EXITED] = "exited",
		[SANDBOX__MSG_SPAWN] = "spawn",
		[SANDBOX__MSG_STOP] = "stop",
		[SANDBOX__MSG_INIT_DONE] = "init-done",
	};

	if (type < ARRAY_SIZE(names) && names[type])
		return names[type];
	return "unknown";
}
