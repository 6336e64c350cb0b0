import json


def lambda_handler(event, context):
    name = event.get("name", "World") if isinstance(event, dict) else "World"
    print(f"greeting {name} in request {context.aws_request_id}")
    return {
        "statusCode": 200,
        "body": json.dumps(f"Hello, {name}! (from Python)"),
    }
