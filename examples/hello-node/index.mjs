export const handler = async (event, context) => {
  const name = event?.name ?? 'World';
  console.log(`greeting ${name} in request ${context.awsRequestId}`);
  const response = {
    statusCode: 200,
    body: JSON.stringify(`Hello, ${name}! (from Node.js)`),
  };
  return response;
};
