/*
 * test_shopify_topics: every Shopify lifecycle topic through verify and
 * normalize, as one table: payload in; kind, every event field and the
 * exact context out. Payloads are the official fixtures of ../shared
 * (skipped with a note when it is absent), ours under
 * tests/fixtures/shopify/, and small inline bodies for the edges. A second
 * table walks every tracking status through both tracking topics.
 *
 * Expected contexts are written with ' for " to stay readable; they are
 * compared with json_equal, so a missing, extra or different key fails, and
 * ids are compared as the exact strings they must be.
 */
#include "test_shopify.h"

#include "shopify_normalize.h"

#define YES	1
#define NO	0
#define UNK	(-1)

struct tcase {
	const char	*name;
	const char	*topic;
	const char	*file;		/* under tests/fixtures/shopify/, or */
	const char	*shared;	/* under ../shared/fixtures/shopify/, or */
	const char	*body;		/* inline */
	int		 status;	/* PLATFORM_OK unless said */
	const char	*reason;	/* when not OK */
	enum event_kind	 kind;
	const char	*order_id, *order_name, *fulfillment_id, *st;
	const char	*checkout_token, *checkout_id, *cart_token;
	const char	*email, *phone, *first_name, *locale;
	int		 consent_email, consent_sms;	/* YES, NO, UNK: always said */
	long long	 occurred_ms;
	const char	*ctx;		/* ' for "; compared exactly */
	const char	*raw;		/* ' for "; in the compact serialized ctx */
};

/* The shared checkouts-create.json, as each checkout topic reads it. */
#define SHARED_CART_FIELDS						\
	.checkout_token = "2a1ace52255252df566af0faaedfbfa7",		\
	.checkout_id = "450789469",					\
	.cart_token = "68778783ad298f1c80c3bafcddeea02f",		\
	.email = "bob.norman@mail.example.com",				\
	.phone = "+16136120707", .first_name = "Bob", .locale = "en",	\
	.consent_email = NO, .consent_sms = NO,				\
	.occurred_ms = 1350039927000LL,					\
	.ctx = "{'token':'2a1ace52255252df566af0faaedfbfa7',"		\
	    "'checkout_id':'450789469',"				\
	    "'cart_token':'68778783ad298f1c80c3bafcddeea02f',"		\
	    "'email':'bob.norman@mail.example.com','phone':'+16136120707'," \
	    "'first_name':'Bob','last_name':'Norman','locale':'en',"	\
	    "'currency':'USD','total':'379.69','subtotal':'358.20',"	\
	    "'url':'https://checkout.local/548380009/checkouts/"	\
	    "2a1ace52255252df566af0faaedfbfa7/recover',"		\
	    "'updated_at':'2012-10-12T07:05:27-04:00','items':["	\
	    "{'title':'IPod Nano - 8GB','variant':'Red','quantity':1,"	\
	    "'price':'199.00','line_price':'199.00','sku':'IPOD2008RED',"	\
	    "'product_id':'632910392','variant_id':'49148385'},"	\
	    "{'title':'IPod Nano - 8GB','variant':'Pink','quantity':1,"	\
	    "'price':'199.00','line_price':'199.00','sku':'IPOD2008PINK',"	\
	    "'product_id':'632910392','variant_id':'808950810'}]}"

/* fulfillments-update-out_for_delivery.json, under either topic. */
#define OFD_FIELDS							\
	.kind = EVENT_ORDER_OUT_FOR_DELIVERY,				\
	.order_id = "5912345678901", .order_name = "#1042",		\
	.fulfillment_id = "4903566852164", .st = "out_for_delivery",	\
	.email = "anna.papadopoulou@example.gr",			\
	.phone = "+30 691 234 5678", .first_name = "Anna",		\
	.consent_email = UNK, .consent_sms = UNK,			\
	.occurred_ms = 1732255083000LL,					\
	.ctx = "{'order_id':'5912345678901','order_name':'#1042',"	\
	    "'fulfillment_id':'4903566852164','status':'out_for_delivery',"	\
	    "'tracking_company':'ELTA Courier',"			\
	    "'tracking_number':'EL123456789GR',"			\
	    "'tracking_url':'https://www.elta-courier.gr/search?br=EL123456789GR'," \
	    "'items':[{'title':'Ceramic Mug','variant':'Blue','quantity':2}," \
	    "{'title':'Tea Towel','quantity':1}]}"

/* checkouts-completed.json, under either topic. */
#define COMPLETED_FIELDS						\
	.kind = EVENT_CART_CLOSED,					\
	.checkout_token = "b9e3d0c4a1f24c77a0e5c1d2f3a4b5c6",		\
	.checkout_id = "35012345678901",				\
	.cart_token = "Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tK",		\
	.email = "marek.nowak@example.pl", .first_name = "Marek",	\
	.locale = "pl-PL", .consent_email = YES, .consent_sms = NO,	\
	.occurred_ms = 1733074307000LL,					\
	.ctx = "{'token':'b9e3d0c4a1f24c77a0e5c1d2f3a4b5c6',"		\
	    "'checkout_id':'35012345678901',"				\
	    "'cart_token':'Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tK',"		\
	    "'email':'marek.nowak@example.pl','first_name':'Marek',"	\
	    "'last_name':'Nowak','locale':'pl-PL','currency':'PLN',"	\
	    "'total':'164.00','subtotal':'149.00',"			\
	    "'url':'https://demo.myshopify.com/60123456789/checkouts/"	\
	    "b9e3d0c4a1f24c77a0e5c1d2f3a4b5c6/recover?key=4d1f',"	\
	    "'updated_at':'2024-12-01T18:31:47+01:00',"		\
	    "'items':[{'title':'Wool Scarf','variant':'Grey','quantity':1," \
	    "'price':'149.00','line_price':'149.00','sku':'SCARF-GREY',"	\
	    "'product_id':'7701234567895','variant_id':'42001234567895'}]}"

static const struct tcase topic_cases[] = {
	/* Orders. */
	{ .name = "cancelled order", .topic = "orders/cancelled",
	  .file = "orders-cancelled.json", .kind = EVENT_ORDER_CANCELLED,
	  .order_id = "5912345678901", .order_name = "#1042", .st = "customer",
	  .checkout_token = "a3f9c1e07b2d4e5f8a6b9c0d1e2f3a4b",
	  .checkout_id = "35012345678900",
	  .cart_token = "Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tH",
	  .email = "anna.papadopoulou@example.gr", .phone = "+306912345678",
	  .first_name = "Anna", .locale = "el",
	  .consent_email = NO, .consent_sms = YES,
	  .occurred_ms = 1732083300000LL,
	  .ctx = "{'id':'5912345678901','name':'#1042','number':'1042',"
	    "'currency':'EUR','total':'33.00','subtotal':'33.00',"
	    "'status_url':'https://demo.myshopify.com/60123456789/orders/"
	    "0c1d2e3f/authenticate?key=abc',"
	    "'created_at':'2024-11-19T21:03:12+02:00',"
	    "'email':'anna.papadopoulou@example.gr','phone':'+306912345678',"
	    "'first_name':'Anna','last_name':'Papadopoulou','locale':'el',"
	    "'checkout_token':'a3f9c1e07b2d4e5f8a6b9c0d1e2f3a4b',"
	    "'cart_token':'Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tH','items':["
	    "{'title':'Ceramic Mug','variant':'Blue','quantity':2,'price':'12.50',"
	    "'sku':'MUG-BLUE','product_id':'7701234567890',"
	    "'variant_id':'42001234567890'},"
	    "{'title':'Tea Towel','quantity':1,'price':'8.00','sku':'TOWEL',"
	    "'product_id':'7701234567891','variant_id':'42001234567891'}],"
	    "'shipping_address':{'first_name':'Anna','city':'Athens',"
	    "'country':'Greece','zip':'10563','address1':'Ermou 12'}}" },
	{ .name = "cancelled order without an id", .topic = "orders/cancelled",
	  .body = "{\"cancel_reason\":\"fraud\"}",
	  .status = PLATFORM_INVALID, .reason = "order has no id" },

	/* Fulfillments. */
	{ .name = "shared fulfillments/create", .topic = "fulfillments/create",
	  .shared = "fulfillments-create.json", .kind = EVENT_ORDER_SHIPPED,
	  .order_id = "450789469", .order_name = "#1001",
	  .fulfillment_id = "1069019878", .st = "success",
	  .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1743611923000LL,
	  .ctx = "{'order_id':'450789469','order_name':'#1001',"
	    "'fulfillment_id':'1069019878','status':'success',"
	    "'tracking_company':'my-custom-shipping-company',"
	    "'tracking_number':'123456789','tracking_url':"
	    "'http://my-custom-shipping-company.shopifyapps.com/track/123456',"
	    "'items':[{'title':'IPod Nano - 8gb','variant':'red','quantity':1}]}" },
	{ .name = "fulfillments/update out for delivery",
	  .topic = "fulfillments/update",
	  .file = "fulfillments-update-out_for_delivery.json", OFD_FIELDS,
	  .raw = "'fulfillment_id':'4903566852164'" },
	{ .name = "fulfillments/create already out for delivery",
	  .topic = "fulfillments/create",
	  .file = "fulfillments-update-out_for_delivery.json", OFD_FIELDS },
	{ .name = "fulfillments/update delivered", .topic = "fulfillments/update",
	  .file = "fulfillments-update-delivered.json",
	  .kind = EVENT_ORDER_DELIVERED, .order_id = "5912345678901",
	  .order_name = "#1042", .fulfillment_id = "4903566852164",
	  .st = "delivered", .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1732275910000LL,
	  /* No items: the payload's line_items is empty. */
	  .ctx = "{'order_id':'5912345678901','order_name':'#1042',"
	    "'fulfillment_id':'4903566852164','status':'delivered',"
	    "'tracking_company':'ELTA Courier','tracking_number':'EL123456789GR',"
	    "'tracking_url':'https://www.elta-courier.gr/search?br=EL123456789GR'}" },
	{ .name = "cancelled fulfillment beats its shipment status",
	  .topic = "fulfillments/update",
	  .body = "{\"id\":1,\"order_id\":2,\"status\":\"cancelled\","
	    "\"shipment_status\":\"in_transit\",\"name\":\"#7\"}",
	  .kind = EVENT_SHIPMENT_FAILED, .order_id = "2", .order_name = "#7",
	  .fulfillment_id = "1", .st = "cancelled",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'order_id':'2','order_name':'#7','fulfillment_id':'1',"
	    "'status':'cancelled'}" },
	{ .name = "failed fulfillment, no carrier status",
	  .topic = "fulfillments/update",
	  .body = "{\"id\":1,\"order_id\":2,\"status\":\"failure\","
	    "\"shipment_status\":null,\"tracking_numbers\":[],"
	    "\"updated_at\":\"2025-01-01T00:00:00Z\"}",
	  .kind = EVENT_SHIPMENT_FAILED, .order_id = "2", .fulfillment_id = "1",
	  .st = "failure", .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1735689600000LL,
	  .ctx = "{'order_id':'2','fulfillment_id':'1','status':'failure'}" },
	{ .name = "fulfillment in error, on create", .topic = "fulfillments/create",
	  .body = "{\"id\":1,\"order_id\":2,\"status\":\"error\"}",
	  .kind = EVENT_SHIPMENT_FAILED, .order_id = "2", .fulfillment_id = "1",
	  .st = "error", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'order_id':'2','fulfillment_id':'1','status':'error'}" },
	{ .name = "successful fulfillment, no carrier status",
	  .topic = "fulfillments/update",
	  .body = "{\"id\":\"1\",\"order_id\":820982911946154508,"
	    "\"status\":\"success\",\"shipment_status\":null,"
	    "\"name\":\"#A.B.2\",\"tracking_number\":\"\","
	    "\"tracking_urls\":[null,\"\",\"https://t.example/1\"]}",
	  .kind = EVENT_ORDER_SHIPPED, .order_id = "820982911946154508",
	  .order_name = "#A.B", .fulfillment_id = "1", .st = "success",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'order_id':'820982911946154508','order_name':'#A.B',"
	    "'fulfillment_id':'1','status':'success',"
	    "'tracking_url':'https://t.example/1'}",
	  .raw = "'order_id':'820982911946154508'" },
	{ .name = "fulfillment without order_id", .topic = "fulfillments/create",
	  .body = "{\"id\":1,\"status\":\"success\",\"order_id\":4.5e8}",
	  .status = PLATFORM_INVALID, .reason = "fulfillment has no order_id" },

	/* Fulfillment events. */
	{ .name = "shared fulfillment_events/create",
	  .topic = "fulfillment_events/create",
	  .shared = "fulfillment_events-create.json", .kind = EVENT_ORDER_SHIPPED,
	  .order_id = "450789469", .fulfillment_id = "255858046",
	  .st = "in_transit", .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1743611970000LL,
	  .ctx = "{'order_id':'450789469','fulfillment_id':'255858046',"
	    "'status':'in_transit','happened_at':'2025-04-02T11:39:30-05:00'}" },
	{ .name = "delivered event", .topic = "fulfillment_events/create",
	  .file = "fulfillment_events-delivered.json",
	  .kind = EVENT_ORDER_DELIVERED, .order_id = "5912345678901",
	  .fulfillment_id = "4903566852164", .st = "delivered",
	  .consent_email = UNK, .consent_sms = UNK,
	  /* happened_at, not the later updated_at */
	  .occurred_ms = 1732275660000LL,
	  .ctx = "{'order_id':'5912345678901','fulfillment_id':'4903566852164',"
	    "'status':'delivered','estimated_delivery_at':'2024-11-22T18:00:00+02:00',"
	    "'happened_at':'2024-11-22T13:41:00+02:00',"
	    "'message':'Delivered to recipient','city':'Athens','country':'Greece'}" },
	{ .name = "event without happened_at", .topic = "fulfillment_events/create",
	  .body = "{\"order_id\":9,\"fulfillment_id\":8,\"status\":\"failure\","
	    "\"happened_at\":null,\"created_at\":\"2025-01-01T00:00:00Z\"}",
	  .kind = EVENT_SHIPMENT_FAILED, .order_id = "9", .fulfillment_id = "8",
	  .st = "failure", .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1735689600000LL,
	  .ctx = "{'order_id':'9','fulfillment_id':'8','status':'failure'}" },
	{ .name = "event without status", .topic = "fulfillment_events/create",
	  .body = "{\"order_id\":9,\"fulfillment_id\":8}",
	  .status = PLATFORM_INVALID, .reason = "fulfillment event has no status" },
	{ .name = "event without order_id", .topic = "fulfillment_events/create",
	  .body = "{\"fulfillment_id\":8,\"status\":\"delivered\"}",
	  .status = PLATFORM_INVALID, .reason = "fulfillment event has no order_id" },

	/* Checkouts. */
	{ .name = "shared checkouts/create", .topic = "checkouts/create",
	  .shared = "checkouts-create.json", .kind = EVENT_CART_ABANDONED,
	  SHARED_CART_FIELDS },
	{ .name = "shared checkouts/update", .topic = "checkouts/update",
	  .shared = "checkouts-create.json", .kind = EVENT_CART_ABANDONED,
	  SHARED_CART_FIELDS },
	{ .name = "shared checkout, deleted", .topic = "checkouts/delete",
	  .shared = "checkouts-create.json", .kind = EVENT_CART_CLOSED,
	  SHARED_CART_FIELDS },
	{ .name = "completed checkout (update)", .topic = "checkouts/update",
	  .file = "checkouts-completed.json", COMPLETED_FIELDS },
	{ .name = "completed checkout (create)", .topic = "checkouts/create",
	  .file = "checkouts-completed.json", COMPLETED_FIELDS },
	{ .name = "checkout without contact", .topic = "checkouts/update",
	  .file = "checkouts-no-contact.json",
	  .status = PLATFORM_IGNORE, .reason = "checkout has no contact" },
	{ .name = "checkout without contact, deleted", .topic = "checkouts/delete",
	  .file = "checkouts-no-contact.json", .kind = EVENT_CART_CLOSED,
	  .checkout_token = "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
	  .checkout_id = "35012345678902",
	  .cart_token = "Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tM", .locale = "el",
	  .consent_email = NO, .consent_sms = NO,
	  .occurred_ms = 1733133840000LL,
	  .ctx = "{'token':'0f1e2d3c4b5a69788796a5b4c3d2e1f0',"
	    "'checkout_id':'35012345678902',"
	    "'cart_token':'Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tM','locale':'el',"
	    "'currency':'EUR','total':'12.50','subtotal':'12.50',"
	    "'url':'https://demo.myshopify.com/60123456789/checkouts/"
	    "0f1e2d3c4b5a69788796a5b4c3d2e1f0/recover?key=9a8b',"
	    "'updated_at':'2024-12-02T10:04:00Z','items':[{'title':'Ceramic Mug',"
	    "'variant':'Blue','quantity':1,'price':'12.50','line_price':'12.50',"
	    "'sku':'MUG-BLUE','product_id':'7701234567890',"
	    "'variant_id':'42001234567890'}]}" },
	{ .name = "deleted checkout: id and token only", .topic = "checkouts/delete",
	  .file = "checkouts-delete.json", .kind = EVENT_CART_CLOSED,
	  .checkout_token = "7c3a9e1d5b2f4a6c8e0d1f3a5b7c9e2d",
	  .checkout_id = "820982911946154600",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'token':'7c3a9e1d5b2f4a6c8e0d1f3a5b7c9e2d',"
	    "'checkout_id':'820982911946154600'}",
	  .raw = "'checkout_id':'820982911946154600'" },
	{ .name = "checkout with 64-bit ids", .topic = "checkouts/create",
	  .file = "checkouts-big-ids.json", .kind = EVENT_CART_ABANDONED,
	  .checkout_token = "5d41402abc4b2a76b9719d911017c592",
	  .checkout_id = "9007199254740993",
	  .cart_token = "hWN1HH7DPASm1ZYmT9ryoQ8P",
	  .email = "zofia.kowalska@example.pl", .phone = "+48 600 100 200",
	  .first_name = "Zofia", .locale = "pl-PL",
	  /* consent object beats buyer_accepts_marketing; no SMS object */
	  .consent_email = YES, .consent_sms = YES,
	  .occurred_ms = 1743296700500LL,
	  .ctx = "{'token':'5d41402abc4b2a76b9719d911017c592',"
	    "'checkout_id':'9007199254740993','cart_token':'hWN1HH7DPASm1ZYmT9ryoQ8P',"
	    "'email':'zofia.kowalska@example.pl','phone':'+48 600 100 200',"
	    "'first_name':'Zofia','last_name':'Kowalska','locale':'pl-PL',"
	    "'currency':'PLN','total':'267.00','subtotal':'267.00',"
	    "'url':'https://demo.myshopify.com/60123456789/checkouts/"
	    "5d41402abc4b2a76b9719d911017c592/recover?key=c0ffee',"
	    "'updated_at':'2025-03-30T03:05:00.500+02:00','items':["
	    "{'title':'Linen Apron','variant':'Sand','quantity':3,'price':'89.00',"
	    "'line_price':'267.00','sku':'APRON-SAND',"
	    "'product_id':'9007199254740997','variant_id':'9223372036854775807',"
	    "'image':'https://cdn.shopify.example/s/files/1/apron-sand.jpg'},"
	    "{'title':'Gift Wrap','quantity':1,'price':'0.00','line_price':'0.00',"
	    "'product_id':'9007199254741001',"
	    "'image':'https://cdn.shopify.example/s/files/1/wrap.png'}]}",
	  .raw = "'variant_id':'9223372036854775807'" },
	{ .name = "checkout with a phone only", .topic = "checkouts/update",
	  .body = "{\"id\":1,\"token\":\"t1\",\"email\":null,"
	    "\"phone\":\"+48600100200\",\"updated_at\":\"2025-01-01T00:00:00Z\"}",
	  .kind = EVENT_CART_ABANDONED, .checkout_token = "t1",
	  .checkout_id = "1", .phone = "+48600100200",
	  .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1735689600000LL,
	  .ctx = "{'token':'t1','checkout_id':'1','phone':'+48600100200',"
	    "'updated_at':'2025-01-01T00:00:00Z'}" },
	{ .name = "closed (archived) checkout", .topic = "checkouts/update",
	  .body = "{\"token\":\"t2\",\"email\":\"A@B.example\","
	    "\"completed_at\":null,\"closed_at\":\"2025-01-01T00:00:00Z\"}",
	  .kind = EVENT_CART_CLOSED, .checkout_token = "t2",
	  .email = "a@b.example", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'token':'t2','email':'a@b.example'}" },
	{ .name = "checkout without token or id", .topic = "checkouts/create",
	  .body = "{\"email\":\"a@b.example\",\"id\":null}",
	  .status = PLATFORM_INVALID, .reason = "checkout has no token or id" },

	/* Compliance. */
	{ .name = "customers/redact", .topic = "customers/redact",
	  .file = "customers-redact.json", .kind = EVENT_CUSTOMER_REDACT,
	  .email = "john@example.com", .phone = "555-625-1199",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'customer_id':'820982911946154508','orders':['299938',"
	    "'280263','220458','5912345678901234567']}",
	  .raw = "'customer_id':'820982911946154508'" },
	{ .name = "customers/data_request", .topic = "customers/data_request",
	  .file = "customers-data_request.json", .kind = EVENT_DATA_REQUEST,
	  .email = "john@example.com", .phone = "555-625-1199",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'customer_id':'820982911946154508','orders':['299938',"
	    "'280263','220458','5912345678901234567'],'data_request_id':'9999'}",
	  .raw = "'5912345678901234567'" },
	{ .name = "shop/redact", .topic = "shop/redact",
	  .file = "shop-redact.json", .kind = EVENT_SHOP_REDACT,
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'shop_id':'954889'}" },
	{ .name = "shop_domain in another spelling", .topic = "shop/redact",
	  .body = "{\"shop_id\":1,\"shop_domain\":\"https://SHOP.Example/\"}",
	  .kind = EVENT_SHOP_REDACT, .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'shop_id':'1'}" },
	{ .name = "shop/redact with nothing", .topic = "shop/redact",
	  .body = "{}", .kind = EVENT_SHOP_REDACT,
	  .consent_email = UNK, .consent_sms = UNK, .ctx = "{}" },
	{ .name = "redact for another shop", .topic = "customers/redact",
	  .body = "{\"shop_id\":2,\"shop_domain\":\"other.myshopify.com\","
	    "\"customer\":{\"id\":1,\"email\":\"john@example.com\"}}",
	  .status = PLATFORM_UNAUTHORIZED, .reason = "shop_domain does not match" },
	{ .name = "data request for another shop", .topic = "customers/data_request",
	  .body = "{\"shop_domain\":\"shop.example.evil\",\"customer\":{\"id\":1}}",
	  .status = PLATFORM_UNAUTHORIZED, .reason = "shop_domain does not match" },
	{ .name = "redact by e-mail only, no orders", .topic = "customers/redact",
	  .body = "{\"customer\":{\"id\":null,\"email\":\" Only@Example.com\"},"
	    "\"orders_to_redact\":[]}",
	  .kind = EVENT_CUSTOMER_REDACT, .email = "only@example.com",
	  .consent_email = UNK, .consent_sms = UNK, .ctx = "{}" },
	{ .name = "redact naming nobody", .topic = "customers/redact",
	  .body = "{\"customer\":{\"id\":null},\"orders_to_redact\":[1]}",
	  .status = PLATFORM_INVALID,
	  .reason = "request names no customer id, e-mail or phone" },

	/* Not ours (yet): acknowledged, body not even read. */
	{ .name = "products/create", .topic = "products/create", .body = "x",
	  .status = PLATFORM_IGNORE, .reason = "unknown topic products/create" },
	{ .name = "app/uninstalled", .topic = "app/uninstalled", .body = "{}",
	  .status = PLATFORM_IGNORE, .reason = "unknown topic app/uninstalled" },
};

static void
check_ctx(const struct tcase *c, const json_t *ctx)
{
	char *got = ctx ? json_dumps(ctx, JSON_COMPACT) : NULL;
	char *want_s = dq(c->ctx);
	json_t *want = json_loads(want_s, 0, NULL);

	if (want == NULL)
		fail_msg("%s: expected ctx is not JSON: %s", c->name, want_s);
	if (ctx == NULL || !json_equal(want, (json_t *)ctx))
		fail_msg("%s: ctx is\n  %s\nwant\n  %s", c->name,
		    got ? got : "NULL", want_s);
	if (c->raw != NULL) {
		char *raw = dq(c->raw);

		if (strstr(got, raw) == NULL)
			fail_msg("%s: %s not in %s", c->name, raw, got);
		free(raw);
	}
	json_decref(want);
	free(want_s);
	free(got);
}

static void
test_topics(void **state)
{
	struct shops *ss = load_shops();
	struct platform_result res;
	struct nevent ev;
	size_t i, len, skipped = 0;
	char *path, *body;

	(void)state;
	for (i = 0; i < sizeof topic_cases / sizeof topic_cases[0]; i++) {
		const struct tcase *c = &topic_cases[i];

		if (c->shared != NULL) {
			char *rel = xasprintf("fixtures/shopify/%s", c->shared);

			path = unit_shared(rel);
			free(rel);
			if (path == NULL) {
				skipped++;
				continue;
			}
		} else if (c->file != NULL) {
			char *rel = xasprintf("tests/fixtures/shopify/%s", c->file);

			path = unit_path(rel);
			free(rel);
		} else
			path = NULL;
		if (path != NULL) {
			body = unit_slurp(path, &len);
			free(path);
		} else {
			body = xstrdup(c->body);
			len = strlen(body);
		}

		run_normalize(ss, NULL, c->topic, body, len, &ev, &res);
		if ((int)res.status != c->status ||
		    strcmp(res.reason, c->reason ? c->reason : "") != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", c->name,
			    res.status, res.reason, c->status,
			    c->reason ? c->reason : "");
		check_str(c->name, "topic", ev.topic, c->topic);
		if (res.status != PLATFORM_OK) {
			/* A refusal names no event, so none is logged or applied. */
			if (ev.kind != EVENT_NONE)
				fail_msg("%s: kind %s on a refusal", c->name,
				    nevent_kind_name(ev.kind));
			nevent_free(&ev);
			free(body);
			continue;
		}
		if (ev.kind != c->kind)
			fail_msg("%s: kind %s, want %s", c->name,
			    nevent_kind_name(ev.kind), nevent_kind_name(c->kind));
		check_str(c->name, "order_id", ev.order_id, c->order_id);
		check_str(c->name, "order_name", ev.order_name, c->order_name);
		check_str(c->name, "fulfillment_id", ev.fulfillment_id, c->fulfillment_id);
		check_str(c->name, "status", ev.status, c->st);
		check_str(c->name, "checkout_token", ev.checkout_token, c->checkout_token);
		check_str(c->name, "checkout_id", ev.checkout_id, c->checkout_id);
		check_str(c->name, "cart_token", ev.cart_token, c->cart_token);
		check_str(c->name, "email", ev.email, c->email);
		check_str(c->name, "phone", ev.phone, c->phone);
		check_str(c->name, "first_name", ev.first_name, c->first_name);
		check_str(c->name, "locale", ev.locale, c->locale);
		if (ev.consent_email != c->consent_email ||
		    ev.consent_sms != c->consent_sms)
			fail_msg("%s: consent %d/%d, want %d/%d", c->name,
			    ev.consent_email, ev.consent_sms,
			    c->consent_email, c->consent_sms);
		if (ev.occurred_ms != c->occurred_ms)
			fail_msg("%s: occurred_ms %lld, want %lld", c->name,
			    (long long)ev.occurred_ms, c->occurred_ms);
		assert_non_null(ev.delivery);
		check_ctx(c, ev.ctx);
		nevent_free(&ev);
		free(body);
	}
	if (skipped > 0)
		fprintf(stderr, "note: skipped %zu case(s) that need ../shared\n",
		    skipped);
	shops_free(ss);
}

/*
 * Every tracking status, as a fulfillment's shipment_status (of a
 * successful fulfillment) and as a fulfillment event's status: both
 * topics must agree.
 */
static void
test_tracking_statuses(void **state)
{
	static const struct {
		const char	*status;
		enum event_kind	 kind;
	} cases[] = {
		{ "confirmed", EVENT_ORDER_SHIPPED },
		{ "label_printed", EVENT_ORDER_SHIPPED },
		{ "label_purchased", EVENT_ORDER_SHIPPED },
		{ "carrier_picked_up", EVENT_ORDER_SHIPPED },
		{ "in_transit", EVENT_ORDER_SHIPPED },
		{ "ready_for_pickup", EVENT_ORDER_SHIPPED },
		{ "ready_for_recipient_pickup", EVENT_ORDER_SHIPPED },
		{ "out_for_delivery", EVENT_ORDER_OUT_FOR_DELIVERY },
		{ "delivered", EVENT_ORDER_DELIVERED },
		{ "picked_up", EVENT_ORDER_DELIVERED },
		{ "attempted_delivery", EVENT_SHIPMENT_FAILED },
		{ "failure", EVENT_SHIPMENT_FAILED },
		{ "returning_to_sender", EVENT_SHIPMENT_FAILED },
		{ "delayed", EVENT_SHIPMENT_FAILED },
		{ "buyer_action_required", EVENT_SHIPMENT_FAILED },
		/* Unknown, or new: a shipment exists all the same. */
		{ "teleported", EVENT_ORDER_SHIPPED },
		{ "DELIVERED", EVENT_ORDER_SHIPPED },	/* REST is lower case */
	};
	/* The body of each topic: before and after the status. */
	static const char *const bodies[][2] = {
		{ "{\"id\":5,\"order_id\":6,\"status\":\"success\","
		    "\"shipment_status\":\"", "\"}" },
		{ "{\"id\":7,\"fulfillment_id\":5,\"order_id\":6,\"status\":\"",
		    "\"}" },
	};
	static const char *const topics[] = {
		"fulfillments/update", "fulfillment_events/create",
	};
	struct shops *ss = load_shops();
	struct platform_result res;
	struct nevent ev;
	size_t i, j;
	char *body;

	(void)state;
	assert_int_equal(shopify_shipment_kind(NULL), EVENT_ORDER_SHIPPED);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(shopify_shipment_kind(cases[i].status), cases[i].kind);
		for (j = 0; j < 2; j++) {
			body = xasprintf("%s%s%s", bodies[j][0], cases[i].status,
			    bodies[j][1]);
			run_normalize(ss, NULL, topics[j], body, strlen(body), &ev, &res);
			if (res.status != PLATFORM_OK || ev.kind != cases[i].kind)
				fail_msg("%s %s: %d \"%s\" %s, want %s", topics[j],
				    cases[i].status, res.status, res.reason,
				    nevent_kind_name(ev.kind),
				    nevent_kind_name(cases[i].kind));
			assert_string_equal(ev.status, cases[i].status);
			assert_string_equal(ev.order_id, "6");
			assert_string_equal(ev.fulfillment_id, "5");
			assert_string_equal(json_string_value(json_object_get(ev.ctx,
			    "status")), cases[i].status);
			nevent_free(&ev);
			free(body);
		}
	}
	shops_free(ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topics),
		cmocka_unit_test(test_tracking_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
