// A page that loads the hosted switchboard.js with a classic <script>.
/// <reference path="../../../../Clients/javascript/global.d.ts" />

const page = new Switchboard.Client("/pubsub");
page.subscribe("news", (data) => console.log(data));
page.on("unrecovered", ({ reason }) => console.log(reason));
// @ts-expect-error the global has only Client
new Switchboard.Server();

export {};
