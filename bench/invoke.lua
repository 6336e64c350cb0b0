-- wrk script: POST an invocation with the admin token (HEARTH_TOKEN).
wrk.method = "POST"
wrk.body = '{"name":"bench"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("HEARTH_TOKEN") or "")
