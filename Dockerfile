# The Lambda container image of the cloud stage (serverless.yml: provider.ecr.images.digit), one image for
# the three functions; each function picks its handler through the image command (image.command), e.g.
# functions/predict.handler. Built by `serverless deploy --stage prod`, or by hand:
#
#   docker build --platform linux/amd64 -t digit-service .
#
# Two stages. build: the project's dependencies and `scripts/bundle.ts`, which writes dist/bundle/ (one esbuild
# bundle per handler with the wasm binaries beside it, model/, and a package.json + package-lock.json that
# list only the native externals at the project lock's versions). runtime: the Lambda base image, the
# production node_modules of those externals for linux x64, and the bundle. No dev dependency, no TypeScript,
# no source reaches the runtime stage. test/integration/bundle.test.ts runs this same layout (without Docker).
ARG LAMBDA_NODE_IMAGE=public.ecr.aws/lambda/nodejs:24

FROM ${LAMBDA_NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are not needed to bundle (native modules stay external; esbuild's binary is a package of its
# own), and skipping them skips tfjs-node's download of libtensorflow in this stage.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY functions ./functions
COPY layers ./layers
COPY scripts/bundle.ts ./scripts/bundle.ts
# model/: model.json, the weight files, metrics.json and refusal.json are copied into the bundle; the training code is not.
COPY model ./model
RUN npx tsx scripts/bundle.ts

FROM ${LAMBDA_NODE_IMAGE}
# LAMBDA_TASK_ROOT is /var/task in the base image; the bundle finds model/ and node_modules/ there.
WORKDIR ${LAMBDA_TASK_ROOT}
COPY --from=build /src/dist/bundle/package.json /src/dist/bundle/package-lock.json ./
# Production dependencies for linux x64 only: sharp's prebuilt @img/sharp-linux-x64 and libvips, better-sqlite3's
# prebuilt addon, and @tensorflow/tfjs-node, whose install script downloads libtensorflow and its addon (this
# needs the build's internet access). tfjs-node is optional: if its install fails, the service runs on the
# bundled wasm backend instead, which /health reports.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/bundle/functions ./functions
COPY --from=build /src/dist/bundle/model ./model
# The default handler; serverless.yml sets each function's own through image.command.
CMD ["functions/predict.handler"]
