"""http-api, the Python part: GET /hello/{name} greets by path parameter, with an
optional ?lang= query parameter. The event is API Gateway's HTTP API payload
format 2.0; the answer is its response format."""
import json

GREETINGS = {"en": "Hello", "fr": "Bonjour", "de": "Hallo", "es": "Hola"}


def lambda_handler(event, context):
    name = event.get("pathParameters", {}).get("name", "world")
    lang = (event.get("queryStringParameters") or {}).get("lang", "en")
    if lang not in GREETINGS:
        return {"statusCode": 400, "headers": {"content-type": "application/json"},
                "body": json.dumps({"error": f"unknown lang '{lang}'",
                                    "known": sorted(GREETINGS)})}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"greeting": f"{GREETINGS[lang]}, {name}!",
                                "requestId": event["requestContext"]["requestId"]})}
